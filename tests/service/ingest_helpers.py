"""A live server over a private copy of the tiny index with API ingestion on, and job polling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from ingest.embed import Embedder
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings
from tests.service.conftest import live_server


@dataclass
class Server:
    url: str
    app: FastAPI
    http: httpx.Client
    roots: Path
    index: Path

    def wait(self, job_id: str, timeout: float = 180) -> dict[str, Any]:
        """Poll GET /v1/ingest/{job} until the job is done or failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.http.get(f"/v1/ingest/{job_id}").json()
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")

    def serving(self) -> str:
        return str(self.app.state.engine.version.folder.name)

    def documents(self) -> set[str]:
        return set(self.app.state.engine.version.manifest.documents)


@contextmanager
def ingest_server(index: Path, embedder: Embedder, tmp: Path, **settings: Any) -> Iterator[Server]:
    roots = tmp / "roots"
    roots.mkdir(parents=True, exist_ok=True)
    config = ServiceSettings(
        index=index,
        ingest_roots=[roots],
        ingest_staging=tmp / "var" / "uploads",
        index_reload_seconds=settings.pop("index_reload_seconds", 0.2),
        **settings,
    )
    app = create_app(config, engine_factory=lambda: Engine(config, embedder))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield Server(url, app, http, roots, index)


def note(topic: str, body: str) -> bytes:
    return f"# {topic}\n\n{body}\n".encode()
