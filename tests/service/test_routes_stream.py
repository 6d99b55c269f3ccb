"""POST /v1/ask/stream: token events then the final response; a client leaving stops it."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest.embed import Embedder
from service.app import create_app
from service.engine import Engine
from service.llm import LocalLLM
from service.settings import ServiceSettings
from tests.service.conftest import live_server
from tests.service.fakes import EndlessLLM
from tests.service.sse import assert_valid_citations, parse

QUESTION = "What does scaling to zero cost the first request?"


def stream(client: TestClient, body: dict[str, object]) -> list[tuple[str, dict]]:
    with client.stream("POST", "/v1/ask/stream", json=body) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        return parse("".join(resp.iter_text()))


def test_extractive_answers_stream_as_tokens_then_the_ask_response(client: TestClient) -> None:
    events = stream(client, {"question": QUESTION})
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "final" and set(kinds[:-1]) == {"token"} and len(kinds) >= 2
    final = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == final["answer"]
    asked = client.post("/v1/ask", json={"question": QUESTION}).json()
    assert set(final) == set(asked)
    assert final["answer"] == asked["answer"]
    assert_valid_citations(final)


def test_the_local_model_streams_verified_sentences(local_client: TestClient) -> None:
    events = stream(local_client, {"question": QUESTION, "mode": "local", "k": 3})
    final = events[-1][1]
    assert events[-1][0] == "final"
    assert final["mode"] == "local" and final["abstained"] is False
    assert "".join(data["text"] for kind, data in events if kind == "token") == final["answer"]
    assert_valid_citations(final)
    assert final["timings_ms"]["first_token"] > 0


def test_a_bad_mode_is_rejected_before_streaming(client: TestClient) -> None:
    resp = client.post("/v1/ask/stream", json={"question": QUESTION, "mode": "gpt-5"})
    assert resp.status_code == 422
    assert "mode" in resp.json()["error"]["message"]


def test_a_client_that_disconnects_stops_the_local_model(
    tiny_index: Path, embedder: Embedder, local_llm: LocalLLM
) -> None:
    config = ServiceSettings(index=tiny_index, max_new_tokens=200)
    app = create_app(config, engine_factory=lambda: Engine(config, embedder, {"local": local_llm}))
    before = local_llm.last
    with live_server(app) as url:
        host, port = url.removeprefix("http://").split(":")
        body = b'{"question": "Explain every way to share a GPU.", "mode": "local"}'
        request = (
            f"POST /v1/ask/stream HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(request)
            deadline = time.monotonic() + 120
            while (
                local_llm.last is before
                or local_llm.last is None
                or (local_llm.last.new_tokens < 2)
            ):
                assert time.monotonic() < deadline, "generation did not start"
                time.sleep(0.05)
        local_llm.idle()
    stats = local_llm.last
    assert stats.cancelled
    assert stats.new_tokens < 200


def test_a_client_that_leaves_mid_stream_stops_the_generation(
    tiny_index: Path, embedder: Embedder
) -> None:
    llm = EndlessLLM()
    config = ServiceSettings(index=tiny_index)
    app = create_app(config, engine_factory=lambda: Engine(config, embedder, {"local": llm}))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        body = {"question": QUESTION, "mode": "local"}
        with http.stream("POST", "/v1/ask/stream", json=body) as resp:
            first = next(resp.iter_lines())
            assert first == "event: token"
        assert llm.cancel is not None and llm.cancel.wait(timeout=30)
        pieces = llm.pieces
        time.sleep(0.5)
    assert llm.pieces == pieces < 100  # nothing more is generated


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", {"question": QUESTION, "mode": "local"}),
        (
            "/v1/chat/completions",
            {"model": "cnai-local", "messages": [{"role": "user", "content": QUESTION}]},
        ),
    ],
)
def test_a_client_that_leaves_a_whole_answer_stops_the_generation(
    path: str, body: dict[str, object], tiny_index: Path, embedder: Embedder
) -> None:
    llm = EndlessLLM()
    config = ServiceSettings(index=tiny_index)
    app = create_app(config, engine_factory=lambda: Engine(config, embedder, {"local": llm}))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=1.0) as http:
        with pytest.raises(httpx.ReadTimeout):  # the client gives up and closes the connection
            http.post(path, json=body)
        assert llm.cancel is not None and llm.cancel.wait(timeout=30)
        pieces = llm.pieces
        time.sleep(0.5)
    assert llm.pieces == pieces < 2000  # stopped long before its 2000 pieces
