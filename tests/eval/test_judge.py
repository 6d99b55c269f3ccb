"""The optional LLM judge: used only when configured, tolerant of a bad reply."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from eval.judge import SKIPPED, Judge, JudgeSettings
from service.cli import app


def judge_replying(content: str, seen: list[dict[str, object]] | None = None) -> Judge:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append({"url": str(request.url), **json.loads(request.content)})
        return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})

    settings = JudgeSettings(base_url="http://judge.test/v1", model="grader")
    return Judge(settings, transport=httpx.MockTransport(handler))


def test_the_judge_is_off_unless_url_and_model_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNAI_JUDGE_BASE_URL", raising=False)
    monkeypatch.setenv("CNAI_JUDGE_MODEL", "grader")
    assert Judge.from_env() is None
    monkeypatch.setenv("CNAI_JUDGE_BASE_URL", "http://judge.test/v1")
    assert Judge.from_env() is not None


def test_grades_are_read_from_the_reply_and_clamped() -> None:
    seen: list[dict[str, object]] = []
    judge = judge_replying('Sure: {"correctness": 0.75, "groundedness": 1.4}', seen)
    grades = judge.grade("Q?", "ref", "answer [1]", ["passage one"])
    assert grades == {"judge_correctness": 0.75, "judge_groundedness": 1.0}
    assert seen[0]["url"] == "http://judge.test/v1/chat/completions"
    assert seen[0]["model"] == "grader" and seen[0]["temperature"] == 0
    assert "[1] passage one" in json.dumps(seen[0]["messages"])


def test_an_unreadable_reply_is_counted_not_fatal() -> None:
    judge = judge_replying("I think it is fine.")
    assert judge.grade("Q?", "ref", "answer", []) == {}
    assert judge.failures == 1


def test_eval_without_a_judge_says_so_in_one_line(
    tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CNAI_JUDGE_BASE_URL", raising=False)
    result = CliRunner().invoke(
        app, ["eval", "--dataset", str(tiny_dataset), "--index", str(tmp_path / "none")]
    )
    assert SKIPPED in result.output
    assert result.exit_code == 2 and "cnai ingest" in result.output  # then: no index there
