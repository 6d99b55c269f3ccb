"""Serve a new index version without a restart: watch ``CURRENT``, load beside, swap at once.

The new engine is built in full while the old one keeps answering; then one attribute
assignment swaps it in, so a request sees either the old index or the new one, never a mix. A
version that fails to load (a checksum mismatch, a missing file) is refused once and the last
good engine keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ingest.errors import CnaiError
from service.engine import Engine

log = logging.getLogger(__name__)


class Reloader:
    def __init__(self, app: FastAPI, index: Path, factory: Callable[[], Engine]) -> None:
        self._app = app
        self._index = index
        self._factory = factory
        self._lock = threading.Lock()
        self.refused: dict[str, str] = {}  # version folder -> why it was not served

    def pointed(self) -> str | None:
        try:
            return (self._index / "CURRENT").read_text().strip() or None
        except OSError:
            return None

    def check(self) -> bool:
        """Swap in the version CURRENT names if it is new and loads; True when swapped."""
        with self._lock:
            name = self.pointed()
            engine: Engine | None = self._app.state.engine
            if name is None or name in self.refused:
                return False
            if engine is not None and engine.version.folder.name == name:
                return False
            try:
                new = engine.reloaded() if engine is not None else self._factory()
            except CnaiError as exc:
                self.refused[name] = str(exc)
                kept = engine.version.folder.name if engine else "no index"
                log.error("refused index version %s, still serving %s: %s", name, kept, exc)
                return False
            self._app.state.engine = new
            self._app.state.load_error = None
            self._app.state.metrics.index_loaded(new.version)
            log.info("now serving index version %s", new.version.folder.name)
            return True

    async def watch(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await run_in_threadpool(self.check)
            except Exception:  # the watcher must outlive any surprise; the old index serves on
                log.exception("index reload check failed")
