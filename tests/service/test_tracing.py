"""OpenTelemetry spans, one per stage, checked with the SDK's in-memory exporter and, end to end,
with the OTLP/HTTP exporter posting to a collector stand-in on a loopback port."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from langchain_core.messages import BaseMessage
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ingest.embed import Embedder
from ingest.errors import BadInput
from service import schemas, tracing
from service.app import create_app
from service.engine import Engine
from service.llm import GenerationStats
from service.settings import ServiceSettings
from tests.service.conftest import live_server
from tests.service.fakes import ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]


class TimedLLM(ScriptedLLM):
    """A scripted generator that reports its timings, as the real backends do."""

    def stream(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        pieces = list(super().stream(messages, max_tokens, cancel, stats))
        if stats is not None:
            stats.first_token_s, stats.total_s, stats.new_tokens = 0.001, 0.002, len(pieces)
        yield from pieces


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def traced_engine(
    index: Path, embedder: Embedder, provider: TracerProvider, **kw: object
) -> Engine:
    llms = kw.pop("llms", None)
    config = ServiceSettings(index=index, **kw)  # type: ignore[arg-type]
    return Engine(config, embedder, llms, tracer=tracing.tracer(provider))  # type: ignore[arg-type]


def tree(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, dict[str, ReadableSpan]]:
    finished = exporter.get_finished_spans()
    (root,) = [s for s in finished if s.parent is None]
    children = {s.name: s for s in finished if s.parent is not None}
    assert len(children) == len(finished) - 1, "one span per stage"
    assert all(s.parent.span_id == root.context.span_id for s in children.values())
    return root, children


def ms(span: ReadableSpan) -> float:
    assert span.start_time is not None and span.end_time is not None
    return (span.end_time - span.start_time) / 1e6


def test_search_has_a_request_span_with_embed_then_search(
    tiny_index: Path, embedder: Embedder, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    engine = traced_engine(tiny_index, embedder, provider)
    resp = engine.search(schemas.SearchRequest(query="How can pods share a GPU?", k=2))
    root, children = tree(exporter)
    assert root.name == "cnai.request" and root.attributes["cnai.operation"] == "search"
    assert set(children) == {"cnai.embed", "cnai.search"}
    embed, search = children["cnai.embed"], children["cnai.search"]
    assert ms(embed) == pytest.approx(resp.timings_ms["embed"], abs=0.01)
    assert ms(search) == pytest.approx(resp.timings_ms["retrieve"], abs=0.01)
    assert root.start_time <= embed.start_time  # type: ignore[operator]
    assert embed.end_time <= search.start_time + 100_000  # type: ignore[operator]  # 0.1 ms of rounding
    assert search.end_time <= root.end_time  # type: ignore[operator]


def test_extractive_ask_adds_an_answer_span(
    tiny_index: Path, embedder: Embedder, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    engine = traced_engine(tiny_index, embedder, provider)
    resp = engine.ask(schemas.AskRequest(question="What is Multi-Instance GPU?"))
    root, children = tree(exporter)
    assert root.attributes["cnai.operation"] == "ask"
    assert {"cnai.embed", "cnai.search", "cnai.answer"} <= set(children)
    assert ms(children["cnai.answer"]) == pytest.approx(resp.timings_ms["answer"], abs=0.01)


def test_generated_ask_has_answer_and_generate_spans(
    tiny_index: Path, embedder: Embedder, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    llm = TimedLLM("Scaling to zero saves money, but the first request waits for a cold start [1].")
    engine = traced_engine(tiny_index, embedder, provider, llms={"local": llm})
    resp = engine.ask(schemas.AskRequest(question="What does scaling to zero cost?", mode="local"))
    _, children = tree(exporter)
    assert {"cnai.embed", "cnai.search", "cnai.answer", "cnai.generate"} <= set(children)
    assert ms(children["cnai.generate"]) == pytest.approx(resp.timings_ms["generate"], abs=0.01)
    assert "cnai.first_token" not in children  # a mark, not a stage


def _tei() -> FastAPI:
    app = FastAPI()

    @app.post("/rerank")
    def rerank(body: dict) -> list[dict]:
        return [{"index": i, "score": float(len(t))} for i, t in enumerate(body["texts"])]

    @app.post("/broken/rerank")
    def broken(body: dict) -> dict:
        return {"nothing": "useful"}

    return app


def test_a_second_stage_reranker_gets_a_rerank_span_inside_search(
    tiny_index: Path, embedder: Embedder, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    with live_server(_tei()) as base:
        for url, fell_back in ((base, False), (f"{base}/broken", True)):
            exporter.clear()
            engine = traced_engine(
                tiny_index, embedder, provider, reranker="http", reranker_url=url
            )
            engine.search(schemas.SearchRequest(query="GPU sharing", k=2))
            _, children = tree(exporter)
            rerank, search = children["cnai.rerank"], children["cnai.search"]
            assert rerank.attributes["cnai.reranker"] == "http"
            assert rerank.attributes["cnai.rerank.fallback"] is fell_back
            assert search.start_time <= rerank.start_time  # type: ignore[operator]
            assert rerank.end_time <= search.end_time  # type: ignore[operator]


def test_spans_reach_an_otlp_endpoint_from_the_setting(tiny_index: Path) -> None:
    received: list[ExportTraceServiceRequest] = []
    collector = FastAPI()

    @collector.post("/v1/traces")
    async def traces(request: Request) -> dict:
        received.append(ExportTraceServiceRequest.FromString(await request.body()))
        return {}

    with live_server(collector) as base:
        config = ServiceSettings(index=tiny_index, otlp_endpoint=base)
        with TestClient(create_app(config)) as client:
            assert client.post("/v1/search", json={"query": "GPU", "k": 1}).status_code == 200
        # leaving the client shut the provider down, which sends the batched spans
    names = {
        span.name
        for req in received
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    }
    assert {"cnai.request", "cnai.embed", "cnai.search"} <= names
    services = {
        a.value.string_value
        for req in received
        for rs in req.resource_spans
        for a in rs.resource.attributes
        if a.key == "service.name"
    }
    assert services == {"cnai-assistant"}


def test_tracing_imports_opentelemetry_only_inside_its_functions() -> None:
    tree_ = ast.parse((ROOT / "service" / "tracing.py").read_text())
    top = [n for n in tree_.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = [a.name for n in top for a in n.names] + [
        n.module or "" for n in top if isinstance(n, ast.ImportFrom)
    ]
    assert not [n for n in names if n.startswith("opentelemetry")]


def test_without_an_endpoint_no_exporter_is_loaded() -> None:
    # (langsmith, under langchain-core, imports the OpenTelemetry SDK by itself when present)
    code = (
        "import sys; from service.app import create_app; from service.settings import "
        "ServiceSettings; create_app(ServiceSettings(index='var/none'));"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.exporter')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_missing_otel_extra_is_reported_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)
    with pytest.raises(BadInput, match=r"pip install 'cnai-assistant\[otel\]'"):
        tracing.provider("http://127.0.0.1:4318")


def test_the_endpoint_must_be_an_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        ServiceSettings(otlp_endpoint="collector:4318")
