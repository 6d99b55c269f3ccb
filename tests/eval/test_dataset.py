"""Question sets: the shipped ones are valid, bad ones fail with the line number."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import load_questions
from ingest.errors import BadInput

DATASETS = Path(__file__).resolve().parents[2] / "eval" / "datasets"


def test_cnai_dev_has_every_question_type_and_enough_questions() -> None:
    questions = load_questions(DATASETS / "cnai_dev.jsonl")
    types = Counter(q.type for q in questions)
    assert len(questions) >= 60
    assert set(types) == {"definition", "list", "howwhy", "factoid", "multihop", "unanswerable"}
    assert all(len(q.gold) >= 2 for q in questions if q.type == "multihop")


def test_extended_dev_covers_kubeflow_and_kserve() -> None:
    questions = load_questions(DATASETS / "extended_dev.jsonl")
    projects = {g.source.split("/")[0] for q in questions for g in q.gold}
    assert len(questions) >= 25
    assert projects == {"kubeflow", "kserve"}


def test_a_bad_line_is_reported_with_its_number(tmp_path: Path) -> None:
    good = {"id": "a", "question": "q?", "type": "unanswerable", "answerable": False}
    bad = dict(good, id="b", answerable=True)
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(BadInput, match=r"set.jsonl:2: invalid question"):
        load_questions(path)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    line = json.dumps({"id": "a", "question": "q?", "type": "unanswerable", "answerable": False})
    path = tmp_path / "set.jsonl"
    path.write_text(line + "\n" + line + "\n")
    with pytest.raises(BadInput, match="unique"):
        load_questions(path)
