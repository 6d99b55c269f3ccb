"""The extractive answerer over a real index: which sentences an answer quotes."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import Embedder
from ingest.pipeline import ingest
from service.answering.answer import _Candidate
from service.engine import Engine
from service.retrieval import Hit
from service.settings import ServiceSettings

NOTE = """# Sharing GPUs

## Techniques

Operators split accelerators with vGPU, MIG and MPS on shared clusters.
Each of these needs driver support, configuration and a scheduler that understands it.

## About this note

This page describes how teams share expensive accelerators between inference services.
Pods that ask for a slice of a device get it from the device plugin.

## Control flow

The kinds of control flow a training pipeline can use are:

1. __Conditions__

2. __Loops__

3. __Exit handlers__
"""


MECHANISMS = """# Sharing accelerators

## Sharing a GPU between services

Accelerators are scarce and costly, so services often end up sharing them.
Three mechanisms let several services share one GPU:

- **Time-slicing** – services take turns on one GPU.
- **MIG** – one GPU is partitioned into isolated instances, one per inference service.
- **MPS** – several inference processes share one GPU at the same time.

## Budget

Teams report that idle accelerators are the largest line in their cloud bill.
"""


def _engine(tmp_path: Path, embedder: Embedder, note: str = NOTE) -> Engine:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "gpus.md").write_text(note, encoding="utf-8")
    ingest([notes], tmp_path / "index", embedder, show_progress=False)
    return Engine(ServiceSettings(index=tmp_path / "index", answer_sentences=1), embedder)


def test_a_sentence_that_points_back_is_quoted_with_the_sentence_it_points_to(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = _engine(tmp_path, embedder)

    _, answer, _ = engine.run("which driver support and scheduler does each one need?", 1)

    assert "Each of these needs driver support" in answer.text
    assert answer.text.index("Operators split accelerators") < answer.text.index("Each of these")


def test_a_sentence_about_its_own_page_is_quoted_alone(tmp_path: Path, embedder: Embedder) -> None:
    engine = _engine(tmp_path, embedder)

    _, answer, _ = engine.run("what does this page describe about sharing accelerators?", 1)

    assert answer.text.startswith("This page describes")
    assert "Operators split" not in answer.text


def test_a_line_that_introduces_a_list_is_quoted_with_its_short_items(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = _engine(tmp_path, embedder)

    _, answer, _ = engine.run("which control flow kinds may a training pipeline use?", 1)

    assert answer.text.startswith("The kinds of control flow")
    for item in ("Conditions", "Loops", "Exit handlers"):
        assert item in answer.text


def test_a_list_whose_items_each_answer_outranks_a_sentence_that_answers_a_little_more(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = _engine(tmp_path, embedder, MECHANISMS)

    _, answer, _ = engine.run("how can inference services share a GPU?", 1)

    assert answer.text.startswith("Three mechanisms let several services share one GPU:")
    for item in ("Time-slicing", "MIG", "MPS"):
        assert item in answer.text
    assert "Teams report" not in answer.text  # the list ends with its last item


def test_a_list_item_is_quoted_with_the_line_that_introduces_its_list(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = _engine(tmp_path, embedder, MECHANISMS)

    _, answer, _ = engine.run("can several processes run on one GPU at the same time with MPS?", 1)

    assert answer.text.startswith("Three mechanisms let several services share one GPU:")
    assert "**MPS**" in answer.text


def _two_passages(engine: Engine) -> list[Hit]:
    """Two retrieved passages (the note is one chunk, so the second is a copy of the first)."""
    hit = engine.run("sharing a GPU", 1)[0][0]
    return [hit, replace(hit, score=hit.score - 0.1)]


def _candidate(rank: int, position: int, text: str, score: float) -> _Candidate:
    return _Candidate(rank, position, text, np.zeros(4, dtype=np.float32), score, score)


def test_the_answer_leads_with_the_best_quote_that_stands_alone(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = _engine(tmp_path, embedder, MECHANISMS)
    hits = _two_passages(engine)
    intro = _candidate(0, 1, "Three mechanisms let several services share one GPU:", 0.9)
    items = [_candidate(0, 2, "Time-slicing", 0.8), _candidate(0, 3, "MIG", 0.8)]
    question = _candidate(0, 0, "Why would services share a GPU?", 0.85)
    points_back = _candidate(1, 1, "It partitions one GPU into isolated instances.", 0.84)
    statement = _candidate(1, 4, "MPS lets several processes share one GPU.", 0.7)
    groups = [[intro, *items], [question], [points_back], [statement]]

    answer = engine.answerer._compose(groups, hits, 0.5)

    texts = [s.text for s in answer.sentences]
    # The list, the question and the sentence pointing back cannot open the answer.
    assert texts[0] == statement.text
    assert answer.sentences[0].citations == [1] and answer.citations[0] is hits[1]
    # The rest follow in passage order, the list's intro before its items.
    assert texts[1:] == [question.text, intro.text, "Time-slicing", "MIG", points_back.text]


def test_with_no_quote_that_stands_alone_the_best_quote_leads_in_its_own_order(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = _engine(tmp_path, embedder, MECHANISMS)
    hits = _two_passages(engine)
    intro = _candidate(1, 1, "Three mechanisms let several services share one GPU:", 0.9)
    item = _candidate(1, 2, "MIG", 0.8)
    question = _candidate(0, 0, "Why would services share a GPU?", 0.85)

    answer = engine.answerer._compose([[intro, item], [question]], hits, 0.5)

    assert [s.text for s in answer.sentences] == [intro.text, item.text, question.text]


def test_an_answer_is_built_once_with_what_the_engine_knows(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = _engine(tmp_path, embedder)

    _, answer, _ = engine.run("how do operators split accelerators?", 1)

    assert answer.mode == "extractive" and answer.retrieval_query
    assert len(answer.support) == len(answer.sentences) and answer.evidence is not None
    with pytest.raises(FrozenInstanceError):
        answer.mode = "local"  # type: ignore[misc]
