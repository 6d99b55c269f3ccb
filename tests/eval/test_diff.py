"""`cnai eval diff`: aggregate deltas and the questions that got better or worse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from eval.diff import diff_markdown, diff_reports
from service.cli import app


def question(qid: str, abstained: bool = False, answerable: bool = True, **scores: float) -> Any:
    return {
        "id": qid,
        "type": "factoid" if answerable else "unanswerable",
        "question": f"Question {qid}?",
        "answerable": answerable,
        "abstained": abstained,
        "scores": scores,
    }


def report(name: str, questions: list[Any], **summary: Any) -> dict[str, Any]:
    return {"name": name, "summary": summary, "questions": questions}


OLD = report(
    "before",
    [
        question("a", mrr=0.5, key_fact_recall=0.5),
        question("b", mrr=1.0, key_fact_recall=1.0),
        question("c", mrr=1.0, key_fact_recall=0.0),
        question("d", answerable=False, abstained=True),
        question("e", mrr=1.0),
        question("gone", mrr=1.0),
    ],
    mrr=0.75,
    abstention_recall=1.0,
    false_abstention_rate=0.2,
    latency_ms={"total": {"p50": 30.0, "p95": 40.0}},
)
NEW = report(
    "after",
    [
        question("a", mrr=1.0, key_fact_recall=0.5),  # better
        question("b", mrr=0.5, key_fact_recall=1.0),  # worse
        question("c", mrr=0.5, key_fact_recall=1.0),  # mixed
        question("d", answerable=False, abstained=False, faithfulness=1.0),  # stopped abstaining
        question("e", mrr=1.0),  # unchanged
        question("added", mrr=1.0),
    ],
    mrr=0.8,
    abstention_recall=0.5,
    false_abstention_rate=0.1,
    latency_ms={"total": {"p50": 20.0, "p95": 40.0}},
)


def test_diff_sorts_questions_into_better_worse_and_mixed() -> None:
    d = diff_reports(OLD, NEW)
    assert [c.id for c in d.better] == ["a"]
    assert [c.id for c in d.worse] == ["b", "d"]
    assert [c.id for c in d.mixed] == ["c"]
    assert d.unchanged == 1
    assert (d.only_old, d.only_new) == (["gone"], ["added"])
    assert d.better[0].changes == [("mrr", 0.5, 1.0)]
    # d lost its correct abstention; faithfulness now applies, which decides nothing.
    assert ("abstention_correct", 1.0, 0.0) in d.worse[1].changes
    assert ("faithfulness", None, 1.0) in d.worse[1].changes


def test_diff_markdown_shows_aggregate_deltas_with_their_direction() -> None:
    text = diff_markdown(diff_reports(OLD, NEW))
    assert "# Diff: before → after" in text
    assert "| mrr | 0.750 | 0.800 | +0.050 better |" in text
    assert "| abstention_recall | 1.000 | 0.500 | -0.500 worse |" in text
    assert "| false_abstention_rate | 0.200 | 0.100 | -0.100 better |" in text  # lower is better
    assert "| latency p50 total (ms) | 30.000 | 20.000 | -10.000 better |" in text
    assert "| latency p95 total (ms) | 40.000 | 40.000 | = |" in text
    assert "## Worse (2)" in text and "| b | factoid | mrr 1.000→0.500 |" in text
    assert "Only in the old report: gone." in text


def test_eval_diff_command_reads_report_folders_and_files(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "report.json").write_text(json.dumps(OLD))
    (tmp_path / "new.json").write_text(json.dumps(NEW))
    saved = tmp_path / "diff.md"
    result = CliRunner().invoke(
        app,
        ["eval", "diff", str(tmp_path / "old"), str(tmp_path / "new.json"), "--out", str(saved)],
    )
    assert result.exit_code == 0, result.output
    assert "## Better (1)" in result.output
    assert saved.read_text().startswith("# Diff: before → after")


def test_eval_diff_of_a_file_that_is_no_report_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    result = CliRunner().invoke(app, ["eval", "diff", str(tmp_path / "x.json"), str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a report.json" in result.output
