"""Request ids, JSON log lines, the body cap, the rate limit and the generation bound."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import BaseMessage

from ingest.embed import Embedder
from service import observability
from service.app import create_app
from service.engine import Engine
from service.llm import GenerationStats
from service.observability import JsonFormatter, TokenBuckets
from service.settings import ServiceSettings
from tests.service.conftest import live_server, make_client
from tests.service.fakes import ScriptedLLM

JSON = {"Content-Type": "application/json"}
QUESTION = "What does scaling to zero cost the first request?"


# --- 1. request ids and log lines ---------------------------------------------------------


def test_request_id_is_generated_and_echoed(client) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and int(made, 16) >= 0  # uuid4 hex
    assert client.get("/healthz").headers["x-request-id"] != made
    sent = client.get("/healthz", headers={"X-Request-ID": "abc.DEF_12-3"})
    assert sent.headers["x-request-id"] == "abc.DEF_12-3"


@pytest.mark.parametrize("bad", ["x" * 65, "has space", "semi;colon", "ünï"])
def test_insane_request_id_is_replaced(client, bad: str) -> None:
    got = client.get("/healthz", headers={"X-Request-ID": bad.encode()}).headers["x-request-id"]
    assert got != bad and len(got) == 32


def test_errors_carry_the_request_id(client) -> None:
    missing = client.get("/v1/nowhere", headers={"X-Request-ID": "r-404"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "r-404"
    invalid = client.post("/v1/ask", json={"question": ""}, headers={"X-Request-ID": "r-422"})
    assert invalid.status_code == 422 and invalid.headers["x-request-id"] == "r-422"


def test_a_log_record_in_a_request_carries_its_id(
    tiny_index: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    with make_client(tiny_index, embedder, log_questions=True) as c:
        caplog.set_level(logging.INFO, logger="service.questions")
        c.post("/v1/ask", json={"question": QUESTION}, headers={"X-Request-ID": "trace-me"})
    records = [r for r in caplog.records if r.name == "service.questions"]
    assert records, "no question logged with CNAI_LOG_QUESTIONS=true"
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "trace-me"
    assert QUESTION in line["message"]


def test_questions_are_not_logged_by_default(client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    assert not [r for r in caplog.records if QUESTION in r.getMessage()]


def test_json_formatter_writes_one_valid_object_a_line() -> None:
    logger = logging.getLogger("test.json")
    record = logger.makeRecord(
        "test.json", logging.WARNING, __file__, 1, 'a "quoted"\nline', (), None
    )
    token = observability.request_id.set("rid-1")
    try:
        out = JsonFormatter().format(record)
    finally:
        observability.request_id.reset(token)
    assert "\n" not in out
    line = json.loads(out)
    assert line["level"] == "WARNING" and line["logger"] == "test.json"
    assert line["message"] == 'a "quoted"\nline' and line["request_id"] == "rid-1"
    assert line["time"].endswith("+00:00")
    outside = json.loads(JsonFormatter().format(record))
    assert outside["request_id"] is None


def test_log_config_is_accepted_by_dict_config() -> None:
    import logging.config

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for fmt in ("json", "text"):
            logging.config.dictConfig(observability.log_config(fmt))
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


# --- 2. body cap, against a real server ------------------------------------------------------


@pytest.fixture(scope="module")
def capped(tiny_index: Path, embedder: Embedder) -> Iterator[str]:
    config = ServiceSettings(index=tiny_index, max_body_bytes=2000)
    app = create_app(config, engine_factory=lambda: Engine(config, embedder))
    with live_server(app) as url:
        yield url


def _assert_413(resp: httpx.Response) -> None:
    assert resp.status_code == 413, resp.text
    error = resp.json()["error"]
    assert error["code"] == "body_too_large" and "2000 bytes" in error["message"]
    assert resp.headers["x-request-id"]


def test_body_over_the_cap_by_content_length(capped: str) -> None:
    body = json.dumps({"query": "kubeflow " * 400})
    _assert_413(httpx.post(f"{capped}/v1/search", content=body, timeout=30))


def test_chunked_body_over_the_cap_is_counted(capped: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(50):
            yield b"kubeflow " * 10
        yield b'"}'

    resp = httpx.post(f"{capped}/v1/search", content=chunks(), headers=JSON, timeout=30)
    _assert_413(resp)


def test_body_under_the_cap_is_served(capped: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "kubeflow pipelines",'
        yield b' "k": 2}'

    assert (
        httpx.post(f"{capped}/v1/search", content=chunks(), headers=JSON, timeout=30).status_code
        == 200
    )
    plain = httpx.post(f"{capped}/v1/search", json={"query": "kubeflow", "k": 2}, timeout=30)
    assert plain.status_code == 200


# --- 3. rate limit -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_buckets_refill() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0
    clock.now += 0.5
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert buckets.take("a") == 0


def test_rate_limit_burst_then_429(tiny_index: Path, embedder: Embedder) -> None:
    clock = Clock()
    with make_client(tiny_index, embedder, rate_limit_per_minute=6, rate_limit_burst=3) as c:
        c.app.state.rate_buckets.clock = clock
        one = {"Authorization": "Bearer key-one-0123456789abcdef"}
        two = {"Authorization": "Bearer key-two-0123456789abcdef"}
        body = {"query": "kubeflow", "k": 1}
        assert [c.post("/v1/search", json=body, headers=one).status_code for _ in range(3)] == [
            200
        ] * 3
        limited = c.post("/v1/search", json=body, headers=one)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.headers["retry-after"] == "10"  # 6 a minute: one token every 10 s
        assert limited.headers["x-request-id"]
        assert c.post("/v1/search", json=body, headers=two).status_code == 200
        for path in ("/healthz", "/readyz", "/metrics"):
            assert c.get(path, headers=one).status_code == 200
        clock.now += 10
        assert c.post("/v1/search", json=body, headers=one).status_code == 200
        assert c.post("/v1/search", json=body, headers=one).status_code == 429


def test_rate_limit_is_off_by_default(client) -> None:
    codes = {
        client.post("/v1/search", json={"query": "kubeflow", "k": 1}).status_code for _ in range(30)
    }
    assert codes == {200}


# --- 4. concurrent generations -----------------------------------------------------------


class GatedLLM(ScriptedLLM):
    """Starts its reply, then waits until ``gate`` opens."""

    def __init__(self) -> None:
        super().__init__(
            "Scaling to zero saves money, but the first request waits for a cold start."
        )
        self.started = threading.Event()
        self.gate = threading.Event()

    def stream(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        self.started.set()
        self.gate.wait(30)
        yield from super().stream(messages, max_tokens, cancel, stats)


def test_generations_past_the_bound_get_503(tiny_index: Path, embedder: Embedder) -> None:
    llm = GatedLLM()
    config = ServiceSettings(index=tiny_index, max_generations=1)
    app = create_app(config, engine_factory=lambda: Engine(config, embedder, {"local": llm}))
    ask = {"question": QUESTION, "mode": "local"}
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        first: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: first.append(http.post("/v1/ask", json=ask)))
        worker.start()
        try:
            assert llm.started.wait(30), "the first generation never started"
            busy = http.post("/v1/ask", json=ask)
            assert busy.status_code == 503
            assert busy.json()["error"]["code"] == "generations_busy"
            assert int(busy.headers["retry-after"]) > 0
            streamed = http.post("/v1/ask/stream", json=ask)
            assert streamed.status_code == 503 and "retry-after" in streamed.headers
            # Extractive answers need no slot.
            assert http.post("/v1/ask", json={"question": QUESTION}).status_code == 200
        finally:
            llm.gate.set()
            worker.join(60)
        assert first[0].status_code == 200, first[0].text
        assert http.post("/v1/ask", json=ask).status_code == 200  # the slot was given back


def test_an_unhandled_error_still_carries_the_request_id(
    tiny_index: Path, embedder: Embedder
) -> None:
    from fastapi.testclient import TestClient

    config = ServiceSettings(index=tiny_index)
    app = create_app(config, engine_factory=lambda: Engine(config, embedder))

    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/v1/boom", headers={"X-Request-ID": "r-500"})
    assert resp.status_code == 500 and resp.headers["x-request-id"] == "r-500"
    assert resp.json()["error"]["code"] == "internal" and "r-500" in resp.json()["error"]["message"]
