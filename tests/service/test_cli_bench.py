"""`cnai bench` and `cnai serve --workers` at the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_bench_names_an_unknown_section_and_the_choices(tiny_index: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["bench", "--index", str(tiny_index), "--out", str(tmp_path), "--sections", "speed"]
    )
    assert result.exit_code == 2
    assert "speed" in result.output and "choose from serving" in result.output


def test_bench_refuses_a_missing_index_before_running(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bench", "--index", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "holds no index" in result.output
    assert not (tmp_path / "o" / "bench.json").exists()


def test_serve_rejects_zero_workers(tiny_index: Path) -> None:
    result = runner.invoke(app, ["serve", "--index", str(tiny_index), "--workers", "0"])
    assert result.exit_code != 0 and "workers" in result.output
