"""The ``cnai`` command line, run in process with the real components."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.service.conftest import ROOT

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("ingest", "serve", "ui", "ask", "search", "eval", "corpus"):
        assert name in result.output


def test_ingest_of_a_missing_path_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope"), "--index", str(tmp_path / "i")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_invalid_setting_from_the_environment_is_named(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["ingest", str(tmp_path), "--index", str(tmp_path / "i")],
        env={"CNAI_CHUNK_TOKENS": "5"},
    )
    assert result.exit_code == 2
    assert "CNAI_CHUNK_TOKENS" in result.output


def test_ask_answers_from_the_index_named_by_the_environment(
    tiny_index: Path, tmp_path: Path
) -> None:
    index = Path(shutil.copytree(tiny_index, tmp_path / "index"))
    result = runner.invoke(
        app, ["ask", "What does MPS let several processes do?"], env={"CNAI_INDEX": str(index)}
    )
    assert result.exit_code == 0, result.output
    assert "[1]" in result.output
    assert "notes/gpu-sharing.md" in result.output


def test_ask_with_an_empty_question_is_refused(tiny_index: Path) -> None:
    result = runner.invoke(app, ["ask", "  ", "--index", str(tiny_index)])
    assert result.exit_code == 2
    assert "question must not be empty" in result.output


def test_search_without_an_index_says_how_to_build_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["search", "gpu", "--index", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "cnai ingest" in result.output


def test_corpus_list_names_the_whitepaper() -> None:
    result = runner.invoke(app, ["corpus", "list"])
    assert result.exit_code == 0
    assert "whitepaper" in result.output


@pytest.mark.slow
def test_corpus_fetch_without_internet_fails_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corpus", "fetch", "--dest", str(tmp_path), "--timeout", "5"])
    if result.exit_code == 0:
        pytest.skip("this machine can reach the public sources")
    assert result.exit_code == 2
    assert "cannot download" in result.output


def test_help_lists_the_mcp_server() -> None:
    assert "mcp" in runner.invoke(app, ["--help"]).output


def test_ask_with_an_unknown_mode_names_the_modes(tiny_index: Path) -> None:
    result = runner.invoke(app, ["ask", "What is MIG?", "--index", str(tiny_index), "--mode", "x"])
    assert result.exit_code == 2
    assert "'extractive', 'local' or 'openai'" in result.output


def test_ask_in_openai_mode_without_a_server_says_what_to_set(tiny_index: Path) -> None:
    result = runner.invoke(
        app, ["ask", "What is MIG?", "--index", str(tiny_index), "--mode", "openai"]
    )
    assert result.exit_code == 2
    assert "CNAI_OPENAI_BASE_URL" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_an_unknown_answerer_from_the_environment(tiny_index: Path) -> None:
    result = runner.invoke(app, ["serve", "--index", str(tiny_index)], env={"CNAI_ANSWERER": "gpt"})
    assert result.exit_code == 2
    assert "CNAI_ANSWERER" in result.output


def test_ask_answers_with_the_local_model(tiny_index: Path) -> None:
    env = {
        "CNAI_MODEL_CACHE": str(ROOT / "var" / "models"),
        "CNAI_MAX_NEW_TOKENS": "60",
        "CNAI_CONTEXT_TOKENS": "400",
    }
    result = runner.invoke(
        app,
        ["ask", "What does scaling to zero cost the first request?", "--mode", "local",
         "--index", str(tiny_index), "--k", "3"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[1]" in result.output
    assert "notes/model-serving.md" in result.output
