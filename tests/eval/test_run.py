"""The evaluation runner over the tiny real index."""

from __future__ import annotations

import json
from pathlib import Path

from eval.run import run_eval
from service.engine import Engine

QUESTIONS = [
    {
        "id": "t1",
        "question": "How many partitions can MIG make of one card?",
        "type": "factoid",
        "answerable": True,
        "gold": [{"source": "gpu-sharing.md", "evidence": ["up to seven hardware partitions"]}],
        "key_facts": ["seven", "MIG|Multi-Instance"],
    },
    {
        "id": "t2",
        "question": "Who won the 1998 football world cup?",
        "type": "unanswerable",
        "answerable": False,
    },
]


def test_report_files_hold_aggregate_and_per_question_scores(
    engine: Engine, tmp_path: Path
) -> None:
    dataset = tmp_path / "set.jsonl"
    dataset.write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    report = run_eval(dataset, engine, tmp_path / "out", k=3, progress=False)

    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["summary"]["hit@3"] == 1.0
    assert data["summary"]["key_fact_recall"] == 1.0
    assert data["summary"]["abstention_recall"] == 1.0
    assert [q["id"] for q in data["questions"]] == ["t1", "t2"]
    assert data["questions"][0]["first_relevant"] == 1
    assert data["unreachable_gold"] == []
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "| all answerable |" in markdown and "| t2 | unanswerable |" in markdown
    assert report.by_type["factoid"]["n"] == 1
