"""The evaluation's own judge of whether a passage backs an answer sentence, without embeddings.

The service checks its sentences with ``service.answering.support.SupportScorer``, which gives a
sentence quoted from a passage 1.0 by construction; a gate that reused it could never fail for
extractive answers. This scorer shares no code with it and asks two other questions:

- **ordered containment**: the share of the sentence's content words (stemmed, stop words out)
  found in the passage in the same order (longest common subsequence), so words scattered
  across an unrelated passage count for little;
- **entailment checks**: every number and every name (a capitalised word inside the sentence,
  an acronym, a word with an inner capital or digit) must appear in the passage; the score is
  multiplied by the square of the share that do, so one changed figure or swapped product
  fails a short sentence while one missing name among many costs a long one less.

A sentence quoted from the passage it cites scores 1.0; cited to another passage, it scores
what that passage happens to share with it, which is low.
"""

from __future__ import annotations

import re

import numpy as np

from ingest.text import tokenize

FAITHFUL = 0.5  # a sentence scoring at least this against a passage is backed by it
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
_TOKEN = re.compile(r"[A-Za-z][\w+.-]*[A-Za-z0-9+]|[A-Za-z]")


def names(sentence: str) -> set[str]:
    """The names of a sentence: acronyms, words with an inner capital or digit, and capitalised
    words other than the first (which is capitalised by position)."""
    found = set()
    for i, match in enumerate(_TOKEN.finditer(sentence)):
        word = match.group().rstrip(".")
        inner = any(c.isupper() or c.isdigit() for c in word[1:])
        if inner or (i > 0 and word[:1].isupper()):
            found.add(word.lower())
    return found


def numbers(sentence: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(sentence)}


def _in_order(sentence: list[str], passage: list[str]) -> int:
    """Length of the longest common subsequence of two token lists."""
    if not sentence or not passage:
        return 0
    row = [0] * (len(passage) + 1)
    for word in sentence:
        diagonal = 0
        for j, other in enumerate(passage, start=1):
            above = row[j]
            row[j] = diagonal + 1 if word == other else max(row[j], row[j - 1])
            diagonal = above
    return row[-1]


def faithfulness_matrix(sentences: list[str], passages: list[str]) -> np.ndarray:
    """(len(sentences), len(passages)) scores in [0, 1]: how well each passage backs each."""
    out = np.zeros((len(sentences), len(passages)), dtype=np.float32)
    if not sentences or not passages:
        return out
    tokens = tokenize(sentences + passages)
    s_tokens, p_tokens = tokens[: len(sentences)], tokens[len(sentences) :]
    p_words = [set(_TOKEN.findall(p.lower())) for p in passages]
    p_numbers = [numbers(p) for p in passages]
    for i, sentence in enumerate(sentences):
        checks_names, checks_numbers = names(sentence), numbers(sentence)
        checked = len(checks_names) + len(checks_numbers)
        for j in range(len(passages)):
            words = s_tokens[i]
            contained = _in_order(words, p_tokens[j]) / len(words) if words else 0.0
            if checked:
                found = sum(n in p_words[j] for n in checks_names)
                found += sum(n in p_numbers[j] for n in checks_numbers)
                contained *= (found / checked) ** 2
            out[i, j] = contained
    return out
