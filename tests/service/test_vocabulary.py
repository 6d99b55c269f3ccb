"""Names the knowledge base never mentions."""

from __future__ import annotations

from ingest.embed import Embedder
from service.vocabulary import Acronyms, Vocabulary

TEXTS = [
    "Kubeflow pipelines run on Kubernetes.",
    "MIG partitions an accelerator; vulnerability scans.",
]


def test_unknown_product_names_are_reported(embedder: Embedder) -> None:
    vocab = Vocabulary(TEXTS, embedder.word_pieces)
    assert vocab.unknown_names("Does Slurm beat Kubeflow on an H100 with vLLM?") == [
        "Slurm",
        "H100",
        "vLLM",
    ]


def test_plain_words_typos_and_abbreviations_are_not_names(embedder: Embedder) -> None:
    vocab = Vocabulary(TEXTS, embedder.word_pieces)
    assert vocab.unknown_names("Any headaches with Kuberntes vuln scans on MIG, skim-wise?") == []


def test_the_plural_or_singular_of_a_known_acronym_is_known(embedder: Embedder) -> None:
    vocab = Vocabulary(["Share one GPU between LLMs."], embedder.word_pieces)
    assert vocab.unknown_names("Can GPUs serve an LLM or TPUs?") == ["TPUs"]


def test_a_short_name_is_not_taken_for_a_different_word_two_edits_away(embedder: Embedder) -> None:
    vocab = Vocabulary(["The mperfs tool reports numbers."], embedder.word_pieces)
    assert vocab.unknown_names("Any MLPerf results?") == ["MLPerf"]


def test_a_rare_acronym_is_expanded_the_way_the_corpus_spells_it() -> None:
    texts = ["Multi-Instance GPU (MIG) splits a card.", "AI runs on GPUs."] + ["AI is here."] * 30
    acronyms = Acronyms(texts)
    assert acronyms.expand("What is MIG?") == "What is MIG? (Multi-Instance GPU)"
    spelled_out = "Is MIG (Multi-Instance GPU) fast?"
    assert acronyms.expand(spelled_out) == spelled_out


def test_an_acronym_used_everywhere_is_left_alone() -> None:
    texts = ["Artificial Intelligence (AI) is broad."] + ["AI is here."] * 30
    assert Acronyms(texts).expand("What is AI?") == "What is AI?"


def test_acronym_use_counts_whole_words_as_a_word_boundary_search_does() -> None:
    """The one-pass count agrees with ``\\bWORD\\b`` around digits, underscores and plurals."""
    import re

    from ingest.names import texts_using as _texts_using

    texts = [
        "MIG and MIGs differ; MIG2 and MIG_x are other words.",
        "(MIG) partitions",
        "no acronym here",
        "KEDA-scaled pods use KEDA.",
        "ÉMIG is one word, MIG again",
    ]
    words = {"MIG", "MIGs", "KEDA", "HPA"}
    expected = {w: sum(bool(re.search(rf"\b{w}\b", t)) for t in texts) for w in words}
    assert _texts_using(words, texts) == expected
