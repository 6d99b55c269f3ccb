"""An API client over the tiny real index, the session's local model and a live-server helper."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.embed import Embedder
from service.app import create_app
from service.engine import Engine
from service.llm import LLM, LocalLLM
from service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
# Short generations keep the suite's time in bounds; answers stay two or three sentences.
LLM_SETTINGS: dict[str, object] = {"max_new_tokens": 80, "context_tokens": 400}


def make_client(
    index: Path, embedder: Embedder, llms: Mapping[str, LLM] | None = None, **settings: object
) -> TestClient:
    config = ServiceSettings(index=index, **settings)  # type: ignore[arg-type]
    return TestClient(create_app(config, engine_factory=lambda: Engine(config, embedder, llms)))


@pytest.fixture(scope="module")
def client(tiny_index: Path, embedder: Embedder) -> Iterator[TestClient]:
    """A client of the app over the tiny index, lifespan started."""
    with make_client(tiny_index, embedder) as c:
        yield c


@pytest.fixture(scope="session")
def local_llm() -> LocalLLM:
    """SmolLM2-135M-Instruct, loaded once per session (converted once into var/models/)."""
    llm = LocalLLM(cache_dir=ROOT / "var" / "models")
    llm.load()
    return llm


@pytest.fixture(scope="module")
def local_client(tiny_index: Path, embedder: Embedder, local_llm: LocalLLM) -> Iterator[TestClient]:
    """A client whose engine answers with the session's real local model."""
    with make_client(tiny_index, embedder, {"local": local_llm}, **LLM_SETTINGS) as c:
        yield c


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
