"""Prometheus metrics: one registry per app so several apps (as in tests) never collide."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.store import IndexVersion
from service.schemas import AskResponse, SearchResponse

# Stage timings run from well under a millisecond (BM25) to seconds (generation on CPU).
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """The app's collectors; ``observe`` reads a response, ``Timed`` times each request."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "cnai_http_requests", "HTTP requests served.", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "cnai_http_request_duration_seconds",
            "HTTP request latency, until the response is fully sent.",
            ["route", "method", "status"],
            registry=r,
        )
        self.stage = Histogram(
            "cnai_stage_duration_seconds",
            "Latency of one engine stage (embed, retrieve, rerank, answer, generate, ...).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.answers = Counter("cnai_answers", "Answers given (not abstained).", registry=r)
        self.abstentions = Counter(
            "cnai_abstentions", "Abstentions, by reason (why_abstained).", ["reason"], registry=r
        )
        self.documents = Gauge("cnai_index_documents", "Documents in the loaded index.", registry=r)
        self.chunks = Gauge("cnai_index_chunks", "Chunks in the loaded index.", registry=r)
        self.index = Info("cnai_index", "The loaded index version.", registry=r)

    def observe(self, resp: SearchResponse | AskResponse) -> None:
        for stage, ms in resp.timings_ms.items():
            if stage != "total":
                self.stage.labels(stage).observe(ms / 1000)
        if isinstance(resp, AskResponse):
            if resp.abstained:
                self.abstentions.labels(resp.why_abstained or "unspecified").inc()
            else:
                self.answers.inc()

    def index_loaded(self, version: IndexVersion) -> None:
        manifest = version.manifest
        self.documents.set(len(manifest.documents))
        self.chunks.set(len(version.chunks))
        self.index.info(
            {
                "version": version.folder.name,
                "model": manifest.model,
                "created_at": manifest.created_at,
                "format_version": str(manifest.format_version),
            }
        )

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def observe(request: Request, resp: SearchResponse | AskResponse) -> None:
    """The route layer's one hook: record a response's stage timings and abstention."""
    metrics: Metrics | None = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.observe(resp)


class Timed:
    """Pure ASGI middleware: BaseHTTPMiddleware would hide client disconnects from the routes."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The templated path (/v1/ask), set by the router on a match, keeps labels bounded.
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            labels = (route, scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)


def install(app: FastAPI) -> Metrics:
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(Timed, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_route() -> Response:
        return metrics.render()

    return metrics
