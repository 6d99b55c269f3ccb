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


def test_the_split_is_a_stable_hash_of_the_id_about_one_in_three_held_out() -> None:
    from eval.dataset import split_of

    ids = [f"id{n}" for n in range(600)]
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]
    assert split_of("conv-synthetic-7") == split_of("conv-synthetic-7")
    share = sum(split_of(i) == "test" for i in ids) / len(ids)
    assert 0.28 < share < 0.39


def test_shipped_question_sets_record_the_locked_split_and_tune_and_test_are_disjoint() -> None:
    from pathlib import Path

    from eval.dataset import load_questions

    root = Path(__file__).resolve().parents[2] / "eval" / "datasets"
    for name in ("cnai_dev.jsonl", "extended_dev.jsonl"):
        tune = {q.id for q in load_questions(root / name, "tune")}
        test = {q.id for q in load_questions(root / name, "test")}
        every = {q.id for q in load_questions(root / name)}
        assert tune and test and not tune & test and tune | test == every


def test_a_split_that_disagrees_with_the_hash_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    import pytest

    from eval.dataset import load_questions, split_of
    from ingest.errors import BadInput

    wrong = "tune" if split_of("u1") == "test" else "test"
    line = {"id": "u1", "question": "q?", "type": "unanswerable", "answerable": False}
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({**line, "split": wrong}) + "\n")
    with pytest.raises(BadInput, match="locked hash"):
        load_questions(path)
    with pytest.raises(BadInput, match="unknown split"):
        load_questions(path.with_name("ok.jsonl"), "dev") if path.with_name("ok.jsonl").write_text(
            json.dumps(line) + "\n"
        ) else None
