"""content_words is cached: the same text is tokenized once and its result cannot be altered."""

from __future__ import annotations

from ingest.text import content_words, tokenize


def test_content_words_match_the_tokenizer_and_are_computed_once() -> None:
    text = "Inference servers batch concurrent requests on the accelerator."
    before = content_words.cache_info().misses
    words = content_words(text)
    assert words == set(tokenize([text])[0]) and "the" not in words
    assert content_words(text) is words  # the second call is served from the cache
    assert content_words.cache_info().misses == before + 1
    assert isinstance(words, frozenset)  # shared between callers, so it must not change


def test_text_without_words_has_no_content_words() -> None:
    assert content_words("--- !!") == frozenset()
