"""Bad-input matrix against a real uvicorn server: each case gets a 4xx with the error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.embed import Embedder
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings
from tests.service.conftest import live_server

JSON = {"Content-Type": "application/json"}
BIG = "kubeflow " * 120_000  # ~1 MB

# (path, raw body bytes, headers)
RAW: list[tuple[str, bytes, dict[str, str]]] = [
    ("/v1/ask", b"", JSON),
    ("/v1/ask", b"{", JSON),
    ("/v1/ask", b'{"question": }', JSON),
    ("/v1/ask", b"[1, 2]", JSON),
    ("/v1/ask", b"null", JSON),
    ("/v1/ask", b'"a string"', JSON),
    ("/v1/ask", b"42", JSON),
    ("/v1/ask", b'{"question": "\\ud800"}', JSON),
    ("/v1/ask", b'{"question": "\\udfff x"}', JSON),
    ("/v1/ask", b'{"question": "\xff\xfe caf\xe9"}', JSON),
    ("/v1/ask", b'{"question": "a", "question": }', JSON),
    ("/v1/ask", b'{"question": NaN}', JSON),
    ("/v1/ask", b"{'question': 'single quotes'}", JSON),
    (
        "/v1/ask",
        b"question=what+is+kubeflow",
        {"Content-Type": "application/x-www-form-urlencoded"},
    ),
    ("/v1/ask", b"what is kubeflow", {"Content-Type": "text/plain"}),
    ("/v1/search", b'{"query": "\\ud800"}', JSON),
    ("/v1/search", b'{"query": "kubeflow", "k": 1e400}', JSON),
    ("/v1/search", b"\x00\x01\x02", JSON),
    ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "\\ud800"}]}', JSON),
    ("/v1/ask/stream", b'{"question": "\\ud800"}', JSON),
]

# (path, JSON body)
BODIES: list[tuple[str, object]] = [
    ("/v1/ask", {}),
    ("/v1/ask", {"question": ""}),
    ("/v1/ask", {"question": "   \n\t "}),
    ("/v1/ask", {"question": BIG}),
    ("/v1/ask", {"question": 42}),
    ("/v1/ask", {"question": ["what", "is"]}),
    ("/v1/ask", {"question": None}),
    ("/v1/ask", {"question": "what is kubeflow?", "k": -1}),
    ("/v1/ask", {"question": "what is kubeflow?", "k": 0}),
    ("/v1/ask", {"question": "what is kubeflow?", "k": 10**12}),
    ("/v1/ask", {"question": "what is kubeflow?", "k": "five"}),
    ("/v1/ask", {"question": "what is kubeflow?", "mode": "telepathy"}),
    ("/v1/ask", {"question": "what\x00is kubeflow"}),
    ("/v1/nonexistent", {"question": "x"}),
    ("/v1/search", {}),
    ("/v1/search", {"query": ""}),
    ("/v1/search", {"query": "kubeflow", "k": -5}),
    ("/v1/search", {"query": "kubeflow", "k": 10**9}),
    ("/v1/search", {"query": "kubeflow", "k": 2.5}),
    ("/v1/search", {"query": {"nested": "object"}}),
    ("/v1/search", {"query": BIG}),
    ("/v1/chat/completions", {}),
    ("/v1/chat/completions", {"messages": []}),
    ("/v1/chat/completions", {"messages": [{"role": "wizard", "content": "hi"}]}),
    ("/v1/chat/completions", {"messages": "not a list"}),
    ("/v1/ask/stream", {"question": ""}),
]


@pytest.fixture(scope="module")
def base(tiny_index: Path, embedder: Embedder) -> Iterator[str]:
    config = ServiceSettings(index=tiny_index)
    app = create_app(config, engine_factory=lambda: Engine(config, embedder))
    with live_server(app) as url:
        yield url


def _check(base: str, r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    assert httpx.get(base + "/healthz").status_code == 200


@pytest.mark.parametrize(("path", "raw", "headers"), RAW, ids=lambda v: repr(v)[:40])
def test_raw_bodies(base: str, path: str, raw: bytes, headers: dict[str, str]) -> None:
    _check(base, httpx.post(base + path, content=raw, headers=headers, timeout=60))


@pytest.mark.parametrize(("path", "body"), BODIES, ids=lambda v: repr(v)[:40])
def test_json_bodies(base: str, path: str, body: object) -> None:
    _check(base, httpx.post(base + path, json=body, timeout=60))


Q = "What is Multi-Instance GPU?"
FEEDBACK = {"question": Q, "answer": "It partitions a GPU.", "rating": "up"}
# (path, JSON body, the unknown field the message must name)
UNKNOWN: list[tuple[str, dict[str, object], str]] = [
    ("/v1/search", {"query": "gpu", "top_k": 3}, "top_k"),
    ("/v1/search", {"query": "gpu", "filters": {"kind": "doc", "lang": "en"}}, "lang"),
    ("/v1/ask", {"question": Q, "temperature": 0.2}, "temperature"),
    ("/v1/ask", {"question": Q, "filter": {"kind": "doc"}}, "filter"),
    (
        "/v1/ask",
        {"question": Q, "history": [{"role": "user", "content": "hi", "name": "x"}]},
        "name",
    ),
    ("/v1/ask/stream", {"question": Q, "stream": True}, "stream"),
    ("/v1/feedback", {**FEEDBACK, "stars": 5}, "stars"),
    ("/v1/feedback", {**FEEDBACK, "history": [{"role": "user", "content": "a", "t": 1}]}, "t"),
]


@pytest.mark.parametrize(("path", "body", "field"), UNKNOWN, ids=lambda v: repr(v)[:40])
def test_an_unknown_field_is_a_422_that_names_it(
    base: str, path: str, body: dict[str, object], field: str
) -> None:
    r = httpx.post(base + path, json=body, timeout=60)
    assert r.status_code == 422, r.text[:300]
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert f"{field}: Extra inputs are not permitted" in error["message"], error["message"]


def test_the_openai_compatible_route_still_ignores_fields_it_does_not_know(base: str) -> None:
    body = {
        "model": "cnai",
        "messages": [{"role": "user", "content": Q, "name": "reader"}],
        "temperature": 0.2,
        "max_tokens": 64,
        "user": "someone",
    }
    r = httpx.post(base + "/v1/chat/completions", json=body, timeout=60)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["choices"][0]["message"]["content"]
