"""The regression gate: thresholds.toml, `cnai eval --check`, and the gate on cnai_dev."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.gate import DEFAULT_THRESHOLDS, Failure, check_summary, load_thresholds
from ingest.errors import BadInput
from service.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_the_shipped_thresholds_are_valid_and_gate_the_headline_metrics() -> None:
    minimums = load_thresholds(DEFAULT_THRESHOLDS)
    assert {"hit@5", "mrr", "key_fact_recall", "faithfulness"} <= set(minimums)
    assert {"abstention_precision", "abstention_recall"} <= set(minimums)


def test_check_lists_every_metric_below_its_minimum() -> None:
    summary = {"hit@5": 0.9, "mrr": 0.5, "faithfulness": None}
    failures = check_summary(summary, {"hit@5": 0.8, "mrr": 0.7, "faithfulness": 0.9})
    assert failures == [Failure("mrr", 0.5, 0.7), Failure("faithfulness", None, 0.9)]
    assert str(failures[0]) == "mrr: 0.500 < minimum 0.700"
    assert "no value" in str(failures[1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hit = 1", "needs a [minimum] table"),
        ("[minimum]\nhit_at_5 = 0.5", "unknown metric 'hit_at_5'"),
        ("[minimum]\nmrr = 1.5", "between 0 and 1"),
        ("[minimum]\nmrr = 'high'", "between 0 and 1"),
        ("[minimum\nmrr = 1", "cannot read thresholds"),
    ],
)
def test_bad_threshold_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(BadInput, match=re.escape(message)):
        load_thresholds(path)


@pytest.mark.usefixtures("cli_shares_the_model")
def test_check_exits_1_and_names_each_threshold_it_misses(
    tiny_index: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    too_high = tmp_path / "high.toml"
    # t3's gold passage is in no document, so hit@5 is at most 3/4 of the answerable ones.
    too_high.write_text('[minimum]\n"hit@5" = 1.0\nabstention_recall = 0.5\nmrr = 0.99\n')
    args = ["eval", "--dataset", str(tiny_dataset), "--index", str(tiny_index)]
    args += ["--out", str(tmp_path / "out"), "--no-plots", "--no-progress", "--check"]
    args += ["--split", "all"]
    result = runner.invoke(app, [*args, "--thresholds", str(too_high)])
    assert result.exit_code == 1, result.output
    assert "below threshold: hit@5: 0.667 < minimum 1.000" in result.output
    assert "below threshold: mrr:" in result.output
    assert "abstention_recall" not in result.output.split("| latency")[-1]  # it was met

    low = tmp_path / "low.toml"
    low.write_text('[minimum]\n"hit@5" = 0.5\n')
    result = runner.invoke(app, [*args, "--thresholds", str(low)])
    assert result.exit_code == 0, result.output
    assert "all 1 thresholds met" in result.output


def test_check_with_a_bad_threshold_file_fails_before_evaluating(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[minimum]\nspeed = 1\n")
    result = runner.invoke(
        app, ["eval", "--dataset", str(tiny_dataset), "--check", "--thresholds", str(bad)]
    )
    assert result.exit_code == 2
    assert "unknown metric 'speed'" in result.output


@pytest.mark.slow
@pytest.mark.usefixtures("cli_shares_the_model")
def test_cnai_dev_passes_the_regression_gate(cnai_index: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "eval",
            "--dataset",
            str(ROOT / "eval" / "datasets" / "cnai_dev.jsonl"),
            "--index",
            str(cnai_index),
            "--out",
            str(tmp_path),
            "--check",
            "--no-plots",
            "--no-progress",
            "--no-judge",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "thresholds met" in result.output
