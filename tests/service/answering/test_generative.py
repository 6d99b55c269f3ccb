"""Generated answers: the openai backend against a real loopback server, fallback, abstention."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openai import OpenAI

from ingest.embed import Embedder
from service.engine import Engine
from service.llm import LocalLLM
from service.settings import ServiceSettings
from tests.service.conftest import LLM_SETTINGS, live_server, make_client
from tests.service.fakes import ScriptedLLM
from tests.service.llm_server import MODEL, openai_app
from tests.service.sse import assert_valid_citations, parse

QUESTION = "What does scaling to zero cost the first request?"


@pytest.fixture(scope="module")
def llm_server(local_llm: LocalLLM) -> Iterator[tuple[str, FastAPI]]:
    """An OpenAI-compatible server on loopback that runs the real local model."""
    app = openai_app(local_llm)
    with live_server(app) as url:
        yield f"{url}/v1", app


@pytest.fixture(scope="module")
def openai_client(
    tiny_index: Path, embedder: Embedder, llm_server: tuple[str, FastAPI]
) -> Iterator[TestClient]:
    """Our API with the openai backend as its default, pointed at ``llm_server``."""
    url, _ = llm_server
    settings = {"answerer": "openai", "openai_base_url": url, "openai_model": MODEL}
    with make_client(tiny_index, embedder, **settings, **LLM_SETTINGS) as c:
        yield c


def test_the_openai_backend_answers_through_a_real_server(
    openai_client: TestClient, llm_server: tuple[str, FastAPI]
) -> None:
    _, server = llm_server
    server.state.requests.clear()
    body = openai_client.post("/v1/ask", json={"question": QUESTION, "k": 3}).json()
    assert body["mode"] == "openai"  # CNAI_ANSWERER's default, no mode in the request
    assert body["abstained"] is False
    assert_valid_citations(body)
    assert server.state.requests == [(True, LLM_SETTINGS["max_new_tokens"])]


def test_the_openai_backend_streams(openai_client: TestClient) -> None:
    with openai_client.stream("POST", "/v1/ask/stream", json={"question": QUESTION}) as resp:
        events = parse("".join(resp.iter_text()))
    final = events[-1][1]
    assert events[-1][0] == "final" and final["mode"] == "openai"
    assert "".join(d["text"] for kind, d in events if kind == "token") == final["answer"]
    assert_valid_citations(final)


def test_the_openai_backend_answers_chat_completions(openai_client: TestClient) -> None:
    api = OpenAI(
        base_url=f"{openai_client.base_url}/v1", api_key="unused", http_client=openai_client
    )
    done = api.chat.completions.create(
        model="cnai-openai", messages=[{"role": "user", "content": QUESTION}]
    )
    content = done.choices[0].message.content or ""
    sources = (done.model_extra or {})["sources"]
    assert sources
    assert {s["id"] for s in sources} == {int(n) for n in re.findall(r"\[(\d+)\]", content)}


def test_an_unreachable_openai_server_is_a_503_that_names_it(
    tiny_index: Path, embedder: Embedder
) -> None:
    settings = {"openai_base_url": "http://127.0.0.1:9/v1", "openai_model": MODEL}
    with make_client(tiny_index, embedder, **settings) as c:
        resp = c.post("/v1/ask", json={"question": QUESTION, "mode": "openai"})
        streamed = c.post("/v1/ask/stream", json={"question": QUESTION, "mode": "openai"})
    assert resp.status_code == 503 == streamed.status_code
    assert resp.json()["error"]["code"] == "llm_unavailable"
    assert "127.0.0.1:9" in resp.json()["error"]["message"]


def engine_with(tiny_index: Path, embedder: Embedder, llm: ScriptedLLM) -> Engine:
    return Engine(ServiceSettings(index=tiny_index), embedder, {"local": llm})


def test_when_no_generated_sentence_holds_the_extractive_answer_is_given(
    tiny_index: Path, embedder: Embedder
) -> None:
    llm = ScriptedLLM(
        "Bananas grow in warm countries and are yellow when ripe. "
        "Kubernetes was first released by Google in the year 2014. "
    )
    engine = engine_with(tiny_index, embedder, llm)
    _, answer, _ = engine.run(QUESTION, 5, None, mode="local")
    _, extractive, _ = engine.run(QUESTION, 5, None, mode="extractive")
    assert llm.calls == 1
    assert answer.fallback is True and answer.mode == "local" and answer.dropped == 2
    assert answer.text == extractive.text
    assert answer.support and len(answer.support) == len(answer.sentences)


def test_questions_the_rules_refuse_are_not_generated(tiny_index: Path, embedder: Embedder) -> None:
    llm = ScriptedLLM("anything at all")
    engine = engine_with(tiny_index, embedder, llm)
    _, answer, _ = engine.run("How do I shard GPUs with Zorblax?", mode="local")
    assert answer.abstained and "Zorblax" in answer.text
    assert llm.calls == 0
