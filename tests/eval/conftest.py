"""Eval fixtures: a tiny question set, a live API, the shared model in the CLI."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from ingest.embed import Embedder
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings

# Over tests/conftest.py's TINY_NOTES: answerable questions of three types, one whose gold
# passage no document holds (it can never be retrieved), and one the notes cannot answer.
TINY_QUESTIONS = [
    {
        "id": "t1",
        "question": "How many partitions can MIG make of one card?",
        "type": "factoid",
        "answerable": True,
        "gold": [{"source": "gpu-sharing.md", "evidence": ["up to seven hardware partitions"]}],
        "reference_answer": "MIG cuts a supported card into up to seven hardware partitions.",
        "key_facts": ["seven", "MIG|Multi-Instance"],
    },
    {
        "id": "t2",
        "question": "What does scaling to zero cost the first request?",
        "type": "howwhy",
        "answerable": True,
        "gold": [{"source": "model-serving.md", "evidence": ["waits for a cold start"]}],
        "reference_answer": "The first request waits for a cold start while the model loads.",
        "key_facts": ["cold start"],
    },
    {
        "id": "t3",
        "question": "Which rollout strategy does the handbook on quantum chips recommend?",
        "type": "definition",
        "answerable": True,
        "gold": [{"source": "quantum-handbook.md", "evidence": ["entangled rollouts"]}],
        "reference_answer": "Entangled rollouts.",
        "key_facts": ["entangled"],
    },
    {
        "id": "t4",
        "question": "Who won the 1998 football world cup?",
        "type": "unanswerable",
        "answerable": False,
    },
]


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in TINY_QUESTIONS) + "\n")
    return path


@pytest.fixture
def cli_shares_the_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """Commands run in process reuse the session's loaded model instead of loading another."""
    monkeypatch.setattr("service.engine.Embedder", lambda *a, **kw: embedder)
    monkeypatch.setattr("ingest.embed.Embedder", lambda *a, **kw: embedder)


@pytest.fixture(scope="session")
def live_api(engine: Engine) -> Iterator[str]:
    """A real uvicorn server on loopback serving the session ``engine`` over ``tiny_index``."""
    app = create_app(ServiceSettings(index=engine.version.folder.parent), lambda: engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the API server at {url} did not start")
        time.sleep(0.05)
    assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """A loopback URL where nothing listens (the port is bound but not listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
