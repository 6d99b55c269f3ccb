"""In process and over HTTP the harness sees the same passages, answers and scores."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from eval.runners import ApiRunner, ApiUnavailable, EngineRunner
from service.cli import app
from service.engine import Engine

QUESTION = "How many partitions can MIG make of one card?"


def test_the_api_runner_reads_the_same_passages_and_answer_as_the_engine(
    engine: Engine, live_api: str
) -> None:
    local = EngineRunner(engine).run(QUESTION, 3)
    api = ApiRunner(live_api)
    try:
        remote = api.run(QUESTION, 3)
    finally:
        api.close()
    assert [p.chunk_id for p in remote.retrieved] == [p.chunk_id for p in local.retrieved]
    assert remote.retrieved[0].doc_path == local.retrieved[0].doc_path
    assert remote.retrieved[0].match_text == local.retrieved[0].match_text
    assert (remote.answer, remote.abstained) == (local.answer, local.abstained)
    assert [c.chunk_id for c in remote.citations] == [c.chunk_id for c in local.citations]
    assert {"embed", "retrieve", "total", "http_ask"} <= set(remote.timings_ms)


@pytest.mark.usefixtures("cli_shares_the_model")
def test_eval_against_a_live_api_scores_like_the_engine(
    engine: Engine, live_api: str, tiny_dataset: Path, tmp_path: Path
) -> None:
    common = ["eval", "--dataset", str(tiny_dataset), "--no-plots", "--no-progress", "--k", "3"]
    runner = CliRunner()
    remote = runner.invoke(app, [*common, "--api", live_api, "--out", str(tmp_path / "api")])
    assert remote.exit_code == 0, remote.output
    local = runner.invoke(
        app, [*common, "--index", str(engine.version.folder.parent), "--out", str(tmp_path / "in")]
    )
    assert local.exit_code == 0, local.output
    a = json.loads((tmp_path / "api" / "report.json").read_text())
    b = json.loads((tmp_path / "in" / "report.json").read_text())
    assert a["config"] == {"runner": "api", "url": live_api, "mode": None}
    assert [q["scores"] for q in a["questions"]] == [q["scores"] for q in b["questions"]]
    assert a["unreachable_gold"] is None  # the index is not visible over HTTP
    assert "http_ask" in a["summary"]["latency_ms"]


def test_an_api_that_is_not_there_is_one_clear_error(closed_port_url: str) -> None:
    with pytest.raises(ApiUnavailable, match="cannot reach the API"):
        ApiRunner(closed_port_url)


def test_a_runner_answers_in_the_mode_it_was_given(engine: Engine) -> None:
    out = EngineRunner(engine, mode="extractive").run(QUESTION, 3)
    assert out.answer and out.citations and not out.fallback


class _Settings(BaseModel):
    dense_weight: float = 1.0
    openai_api_key: str = "sk-do-not-write"
    host: str = "127.0.0.1"


def test_the_recorded_configuration_holds_no_secret(engine: Engine) -> None:
    twin = copy.copy(engine)
    twin.settings = _Settings()  # type: ignore[assignment]
    described = EngineRunner(twin).describe()
    assert described["settings"] == {"dense_weight": 1.0}
