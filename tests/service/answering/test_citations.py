"""Verification of generated sentences against the passages they cite, with the real scorer."""

from __future__ import annotations

import re

import pytest

from ingest.embed import Embedder
from service.answering.citations import CitationChecker, SentenceStream, claims, render, support_of
from service.answering.support import SUPPORTED, SupportScorer
from service.engine import Engine
from service.retrieval import Hit

MIG = "Multi-Instance GPU (MIG) cuts a supported card into up to seven hardware partitions"
RAG = "Retrieval-augmented generation (RAG) looks up the passages nearest to a question"
SCALE = "Scaling to zero saves money, but the first request then waits for a cold start"


@pytest.fixture(scope="module")
def hits(engine: Engine) -> list[Hit]:
    """Three real passages in a fixed order: [1] model serving, [2] GPU sharing, [3] vectors."""
    by_text = {}
    for chunk in engine.version.chunks:
        for needle in (SCALE, MIG, RAG):
            if needle.split(",")[0][:40] in " ".join(chunk.text.split()):
                by_text[needle] = Hit(chunk, score=0.0, dense=0.0)
    return [by_text[SCALE], by_text[MIG], by_text[RAG]]


@pytest.fixture(scope="module")
def scorer(embedder: Embedder) -> SupportScorer:
    return SupportScorer(embedder)


def check_all(scorer: SupportScorer, hits: list[Hit], text: str) -> CitationChecker:
    checker = CitationChecker(scorer, hits)
    for claim in claims(text, len(hits)):
        checker.check(claim)
    return checker


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_a_sentence_citing_the_wrong_passage_is_cited_to_the_one_that_supports_it(
    scorer: SupportScorer, hits: list[Hit]
) -> None:
    text = "MIG cuts a supported card into up to seven hardware partitions [3]."
    answer = check_all(scorer, hits, text).answer("local")
    assert answer.citations == [hits[1]]  # the GPU passage, not the vector one it named
    assert answer.text == "MIG cuts a supported card into up to seven hardware partitions. [1]"
    assert answer.support[0] >= SUPPORTED


def test_a_sentence_that_cites_nothing_gets_the_passage_that_supports_it(
    scorer: SupportScorer, hits: list[Hit]
) -> None:
    answer = check_all(scorer, hits, f"{RAG}.").answer("local")
    assert answer.citations == [hits[2]]
    assert answer.sentences[0].citations == [1]


def test_an_unsupported_sentence_is_dropped_and_counted(
    scorer: SupportScorer, hits: list[Hit]
) -> None:
    text = f"{MIG} [2]. Kubernetes was first released by Google in 2014 [2]."
    answer = check_all(scorer, hits, text).answer("local")
    assert [s.text for s in answer.sentences] == [MIG + "."]
    assert answer.dropped == 1
    assert "2014" not in answer.text


def test_ids_are_renumbered_to_those_used_and_no_marker_dangles(
    scorer: SupportScorer, hits: list[Hit]
) -> None:
    # The model cites [3], [2] and a passage [7] that was never in its prompt.
    text = f"{RAG} in a vector database [3]. {MIG} [2] [7]. {SCALE} while the model loads [7]."
    answer = check_all(scorer, hits, text).answer("local")
    assert answer.citations == [hits[2], hits[1], hits[0]]
    assert [s.citations for s in answer.sentences] == [[1], [2], [3]]
    assert markers(answer.text) == {1, 2, 3} == set(range(1, len(answer.citations) + 1))
    assert "[7]" not in answer.text


def test_a_marker_after_the_full_stop_stays_with_its_sentence() -> None:
    found = claims(f"{MIG}. [2] Each partition has its own memory. [1]", 3)
    assert [c.cited for c in found] == [[1], [0]]
    assert found[0].text == MIG + "."
    assert not any("[" in c.text for c in found)


def test_a_repeated_sentence_is_dropped(scorer: SupportScorer, hits: list[Hit]) -> None:
    answer = check_all(scorer, hits, f"{MIG} [2]. {MIG} [2].").answer("local")
    assert len(answer.sentences) == 1
    assert answer.dropped == 1


def test_the_sentence_stream_releases_only_complete_sentences() -> None:
    stream = SentenceStream(passages=3)
    assert stream.feed("Multi-Instance GPU cuts a card into seven parts") == []
    assert stream.feed(". [1] Each partition has") == []
    done = stream.feed(" its own memory and compute. Time")
    assert [(c.text, c.cited) for c in done] == [
        ("Multi-Instance GPU cuts a card into seven parts.", [0])
    ]
    rest = stream.close()
    assert [c.text for c in rest] == ["Each partition has its own memory and compute."]


def test_extractive_sentences_are_scored_like_generated_ones(
    engine: Engine, scorer: SupportScorer
) -> None:
    _, answer, _ = engine.run("What does scaling to zero cost the first request?")
    assert answer.sentences
    assert support_of(answer, scorer) == answer.support
    assert all(s >= SUPPORTED for s in answer.support)  # verbatim passage text
    assert " ".join(render(s) for s in answer.sentences) == answer.text
