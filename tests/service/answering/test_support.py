"""Support of a sentence by a passage."""

from __future__ import annotations

from ingest.embed import Embedder
from service.answering.support import SUPPORTED, SupportScorer

PASSAGES = [
    "Multi-Instance GPU (MIG) splits one card into up to seven isolated instances. "
    "Each instance has its own memory.",
    "Vector databases store embeddings for retrieval.",
]


def test_a_paraphrase_is_supported_by_its_passage_only(embedder: Embedder) -> None:
    scores = SupportScorer(embedder).score(
        ["MIG can partition a GPU into seven instances."], PASSAGES
    )
    assert scores[0, 0] >= SUPPORTED > scores[0, 1]


def test_an_unrelated_claim_is_supported_by_no_passage(embedder: Embedder) -> None:
    scores = SupportScorer(embedder).score(["Kubernetes was released by Google in 2014."], PASSAGES)
    assert scores.max() < SUPPORTED


def test_empty_inputs_give_an_empty_matrix(embedder: Embedder) -> None:
    assert SupportScorer(embedder).score([], PASSAGES).shape == (0, 2)


def test_a_sentence_quoted_from_a_passage_is_fully_supported_by_it(embedder: Embedder) -> None:
    scores = SupportScorer(embedder).score(["Each  instance has its own memory."], PASSAGES)
    assert scores[0, 0] == 1.0
    assert scores[0, 1] < SUPPORTED
