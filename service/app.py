"""The app factory: ``create_app(settings)``; the engine is loaded once in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from ingest.errors import CnaiError, IndexMismatch
from service import errors, metrics, observability, security, tracing
from service.engine import Engine
from service.feedback import FeedbackStore
from service.ingest_jobs import IngestJobs
from service.reload import Reloader
from service.routes import chat, feedback, health, index, ingest, qa, stream
from service.schemas import ERROR_RESPONSES
from service.settings import ServiceSettings

log = logging.getLogger(__name__)


def create_app(
    settings: ServiceSettings | None = None, engine_factory: Callable[[], Engine] | None = None
) -> FastAPI:
    settings = settings or ServiceSettings()
    # Made here, not in the lifespan, so a missing otel extra stops the start with its message.
    spans = tracing.provider(settings.otlp_endpoint) if settings.otlp_endpoint else None
    tracer = tracing.tracer(spans) if spans else None

    def default_factory() -> Engine:
        # A reload keeps the loaded embedding model when the new version was built with it.
        current: Engine | None = app.state.engine
        if current is not None:
            with contextlib.suppress(IndexMismatch):
                return Engine(settings, embedder=current.embedder, tracer=tracer)
        return Engine(settings, tracer=tracer)

    factory = engine_factory or default_factory

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = None
        app.state.load_error = None
        try:
            app.state.engine = await run_in_threadpool(factory)
            app.state.metrics.index_loaded(app.state.engine.version)
        except CnaiError as exc:
            # Stay up so /healthz answers and every route says how to build the index.
            log.error("%s", exc)
            app.state.load_error = exc
        app.state.reloader = reloader = Reloader(app, settings.index, factory)
        app.state.ingest_jobs = IngestJobs(settings, reloader, lambda: app.state.engine)
        watcher = None
        if settings.index_reload_seconds > 0:
            watcher = asyncio.create_task(reloader.watch(settings.index_reload_seconds))
        yield
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await run_in_threadpool(app.state.ingest_jobs.close)
        if spans is not None:
            spans.shutdown()  # sends the spans still batched

    app = FastAPI(
        title="CNAI Assistant API",
        version="0.1.0",
        description="Grounded answers about Cloud Native AI, with citations.",
        lifespan=lifespan,
        dependencies=[Depends(security.require_key)],
        responses=ERROR_RESPONSES,
    )
    app.state.feedback = FeedbackStore(settings.feedback_db)
    security.install(app, settings.keys(), settings.cors_origins_list())
    app.state.settings = settings
    errors.install(app)
    metrics.install(app)
    observability.install(app, settings)
    app.include_router(health.router)
    app.include_router(qa.router)
    app.include_router(stream.router)
    app.include_router(chat.router)
    app.include_router(feedback.router)
    app.include_router(index.router)
    app.include_router(ingest.router)
    return app
