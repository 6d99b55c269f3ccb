"""Switch to a new index version while serving: poll the index's CURRENT pointer.

Polling (not inotify) because the index usually sits on a network volume that an ingest Job on
another node rewrites, and inotify does not see changes made by other NFS clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ingest.errors import CnaiError
from service.engine import Engine

log = logging.getLogger(__name__)


def pointer(index: Path) -> str | None:
    """The live version's folder name, or None when there is no index yet."""
    try:
        return (index / "CURRENT").read_text().strip() or None
    except OSError:
        return None


async def watch(app: FastAPI, index: Path, factory: Callable[[], Engine], interval: float) -> None:
    """Every ``interval`` s, load a changed (or first) version and swap it in; keep the old one
    serving when the new one cannot be loaded, and try again only once CURRENT changes."""
    engine = app.state.engine
    seen = engine.version.folder.name if engine is not None else None
    while True:
        await asyncio.sleep(interval)
        current = pointer(index)
        if current is None or current == seen:
            continue
        seen = current
        try:
            engine = await run_in_threadpool(factory)
        except CnaiError as exc:
            log.error(
                "index version %s not loaded (%s); still serving the previous one", current, exc
            )
            if app.state.engine is None:
                app.state.load_error = exc
            continue
        app.state.engine, app.state.load_error = engine, None
        app.state.metrics.index_loaded(engine.version)
        log.info("now serving index version %s", engine.version.folder.name)
