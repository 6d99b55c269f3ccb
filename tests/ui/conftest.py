"""A live API on loopback, serving the real engine over a tiny real index, once per session."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from streamlit.testing.v1 import AppTest

from ingest.embed import Embedder
from ingest.pipeline import ingest
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings
from tests.service.fakes import ScriptedLLM

UI = Path(__file__).resolve().parents[2] / "ui"
TIMEOUT = 60  # seconds per AppTest run


def open_app(monkeypatch: pytest.MonkeyPatch, api_url: str, page: str = "app.py") -> AppTest:
    """A Streamlit page run once against ``api_url``, without an exception."""
    monkeypatch.setenv("CNAI_API_URL", api_url)
    at = AppTest.from_file(str(UI / page), default_timeout=TIMEOUT)
    at.run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    return at


DOCS = {
    "gpu-sharing.md": """---
title: Sharing GPUs between inference workloads
kind: whitepaper
url: https://example.org/cnai/gpu-sharing
---
# Sharing GPUs between inference workloads

## Multi-Instance GPU

Multi-Instance GPU (MIG) partitions one physical GPU into as many as seven isolated instances.
Each MIG instance has its own compute units, memory and cache, so a noisy neighbour cannot slow
down another workload. Kubernetes exposes MIG instances as extended resources through the device
plugin, and a pod requests one the same way it would request a whole GPU.

## Time slicing

Time slicing lets several pods take turns on the same GPU without memory isolation. It suits
small development workloads but gives no guarantee of latency.
""",
    "model-serving.md": """---
title: Serving models on Kubernetes
kind: doc
---
# Serving models on Kubernetes

## InferenceService

A KServe-style InferenceService describes a model server declaratively: the model format, the
storage location of the weights and the resources each replica needs. The controller creates the
deployment, the service and the route, and scales replicas with the request load.

## Scale to zero

Serverless model serving scales an idle model down to zero replicas and starts one again on the
next request. The first request after a pause pays a cold start while the weights load.
""",
    "vector-databases.md": """---
title: Vector databases
kind: glossary
---
# Vector databases

A vector database stores embeddings, the numeric vectors a model computes from text or images,
and finds the nearest neighbours of a query vector. Approximate nearest neighbour indexes such as
HNSW trade a little recall for much faster search over millions of vectors. Retrieval augmented
generation uses a vector database to fetch the passages a language model should read.
""",
    "talk-notes.md": """---
title: Notes from a Cloud Native AI talk
kind: talk
---
# Notes from a Cloud Native AI talk

The speakers showed how a training job on Kubernetes checkpoints its state to object storage, so
that a preempted pod can resume from the last checkpoint instead of starting over. They stressed
that checkpoint frequency is a trade-off between lost work and storage bandwidth.
""",
}


def free_socket() -> socket.socket:
    """A loopback socket bound to a free port (bound but not listening: connections are refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait_started(url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    # uvicorn runs the lifespan (which loads the engine) before it reports started.
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the API server for {url} stopped while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API server for {url} did not start within 120 s")
        time.sleep(0.1)


def _wait_ready(url: str) -> None:
    response = httpx.get(f"{url}/readyz", timeout=5)
    if response.status_code != 200:
        raise RuntimeError(f"{url}/readyz is not ready: {response.text}")


@pytest.fixture(scope="session")
def ui_index(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of DOCS (our own kinds and links to assert on), built with the shared embedder."""
    folder = tmp_path_factory.mktemp("corpus") / "cnai"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    index = tmp_path_factory.mktemp("index") / "index"
    ingest([folder], index, embedder, show_progress=False)
    return index


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a real uvicorn server in a background thread; yield its base URL."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    # Handing uvicorn the bound socket leaves no window for another process to take the port.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_started(url, server, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def feedback_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite file where ``live_api`` keeps feedback."""
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite"


@pytest.fixture(scope="session")
def live_api(ui_index: Path, feedback_db: Path) -> Iterator[str]:
    """Base URL of the real app serving ``ui_index``, ready to answer."""
    with _serve(create_app(ServiceSettings(index=ui_index, feedback_db=feedback_db))) as url:
        _wait_ready(url)
        yield url


@pytest.fixture(scope="session")
def api_with_an_off_topic_model(ui_index: Path, embedder: Embedder) -> Iterator[str]:
    """The real app whose `local` backend writes only sentences no passage supports."""
    settings = ServiceSettings(index=ui_index)
    model = ScriptedLLM("Bananas ripen faster in a paper bag. [1]")
    with _serve(create_app(settings, lambda: Engine(settings, embedder, {"local": model}))) as url:
        _wait_ready(url)
        yield url


@pytest.fixture(scope="session")
def api_without_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real app started over a folder that holds no index (it stays up, 503)."""
    missing = tmp_path_factory.mktemp("no_index") / "index"
    with _serve(create_app(ServiceSettings(index=missing))) as url:
        yield url


@pytest.fixture
def silent_url() -> Iterator[str]:
    """An API URL on loopback that accepts connections and never answers."""
    sock = free_socket()
    sock.listen(8)  # the kernel completes the handshake; nobody ever reads or replies
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """An API URL on loopback where nothing listens."""
    sock = free_socket()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
