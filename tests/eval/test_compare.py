"""`cnai eval --compare`: configurations side by side on the same questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.compare import configurations, run_compare
from service.cli import app
from service.engine import Engine
from service.settings import ServiceSettings


def test_configurations_add_one_retrieval_stage_at_a_time_then_the_modes() -> None:
    configs = configurations(
        ServiceSettings(rerank_depth=0, diversity=0, heading_weight=0), ["local", "openai"]
    )
    by_name = {c.name: c.overrides for c in configs}
    off = {"diversity": 0, "merge_neighbours": False, "heading_weight": 0}
    assert by_name["dense only"]["sparse_weight"] == 0
    assert by_name["BM25 only"]["dense_weight"] == 0
    assert by_name["hybrid"] == {"rerank_depth": 0, **off}
    # stages switched off in the settings are still compared at their defaults
    assert by_name["hybrid + rerank"] == {"rerank_depth": 30, **off}
    assert by_name["+ heading match"] == {"rerank_depth": 30, **off, "heading_weight": 0.2}
    assert by_name["+ diversity"] == {
        "rerank_depth": 30, "diversity": 0.2, "merge_neighbours": False, "heading_weight": 0.2,
    }  # fmt: skip
    assert by_name["+ neighbours joined"] == {
        "rerank_depth": 30, "diversity": 0.2, "merge_neighbours": True, "heading_weight": 0.2,
    }  # fmt: skip
    assert [c.mode for c in configs if c.mode] == ["local", "openai"]


def test_compare_writes_a_table_a_chart_and_one_report_per_configuration(
    engine: Engine, tiny_dataset: Path, tiny_corpus: Path, tmp_path: Path
) -> None:
    result = run_compare(
        tiny_dataset,
        engine,
        tmp_path,
        k=3,
        docs_roots=[tiny_corpus.parent],
        progress=False,
        adapted=engine,  # the row's plumbing; test_adapt covers a really adapted model
    )
    names = [r.name for r in result.reports]
    assert names == [
        "dense only", "BM25 only", "hybrid", "hybrid + rerank", "+ heading match",
        "+ diversity", "+ neighbours joined", "+ adapted model", "LangChain baseline",
    ]  # fmt: skip
    data = json.loads((tmp_path / "compare.json").read_text())
    assert [row["configuration"] for row in data["configurations"]] == names
    assert {r.summary["n"] for r in result.reports} == {4}  # the same questions for each
    table = (tmp_path / "compare.md").read_text()
    assert "| LangChain baseline |" in table and "![compare](compare.png)" in table
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "dense-only" / "report.json").is_file()
    assert (tmp_path / "langchain-baseline" / "metrics.png").is_file()


@pytest.mark.usefixtures("cli_shares_the_model")
def test_compare_without_the_documents_skips_the_baseline_with_a_note(
    engine: Engine, tiny_dataset: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "eval", "--compare", "--dataset", str(tiny_dataset),
            "--index", str(engine.version.folder.parent), "--out", str(tmp_path),
            "--docs-root", str(tmp_path / "elsewhere"), "--no-plots", "--no-progress",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "LangChain baseline skipped" in result.output
    assert "| hybrid |" in result.output


def test_compare_refuses_api_and_check(tiny_dataset: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "--compare", "--check", "--dataset", str(tiny_dataset)]
    )
    assert result.exit_code == 2
    assert "drop --api and --check" in result.output


def test_adapted_index_needs_compare(tiny_dataset: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "--adapted-index", str(tmp_path), "--dataset", str(tiny_dataset)]
    )
    assert result.exit_code == 2
    assert "add --compare" in result.output
