"""A serving app switches to a new index version written beside it, as from an ingest Job."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient

from ingest.embed import Embedder
from ingest.pipeline import ingest
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings

NEW_NOTE = """\
---
title: Feature stores
kind: doc
---

## What a feature store keeps

A feature store keeps the inputs a model was trained on so serving computes them the same way.
"""


def pointer(index: Path) -> str:
    return (index / "CURRENT").read_text().strip()


def reloading_client(index: Path, embedder: Embedder) -> TestClient:
    config = ServiceSettings(index=index, index_reload_seconds=0.1)
    return TestClient(create_app(config, engine_factory=lambda: Engine(config, embedder)))


def wait_for(client: TestClient, predicate, seconds: float = 20) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        reply = client.get("/readyz")
        if predicate(reply):
            return reply.json()
        assert time.monotonic() < deadline, f"no reload within {seconds} s: {reply.json()}"
        time.sleep(0.1)


def test_new_version_is_served_without_a_restart(
    index_copy: Path, tiny_corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    docs = Path(shutil.copytree(tiny_corpus, tmp_path / "docs"))
    with reloading_client(index_copy, embedder) as client:
        before = client.get("/readyz").json()
        (docs / "feature-stores.md").write_text(NEW_NOTE, encoding="utf-8")
        ingest([docs], index_copy, embedder, show_progress=False)
        after = wait_for(client, lambda r: r.json().get("index") != before["index"])
        assert after["documents"] == before["documents"] + 1
        assert Path(after["index"]).name == pointer(index_copy)
        hits = client.post("/v1/search", json={"query": "feature store", "k": 1}).json()
        assert hits["results"][0]["source"]["title"] == "Feature stores"
        metrics = client.get("/metrics").text
        assert f'version="{pointer(index_copy)}"' in metrics


def test_an_app_started_before_the_index_exists_becomes_ready_once_it_is_built(
    tiny_corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    with reloading_client(index, embedder) as client:
        assert client.get("/readyz").status_code == 503
        ingest([tiny_corpus], index, embedder, show_progress=False)
        ready = wait_for(client, lambda r: r.status_code == 200)
        assert ready["status"] == "ready"


def test_a_broken_new_version_leaves_the_old_one_serving(
    index_copy: Path, embedder: Embedder
) -> None:
    with reloading_client(index_copy, embedder) as client:
        before = client.get("/readyz").json()
        (index_copy / "CURRENT").write_text("v-missing\n")
        time.sleep(0.5)  # several polls
        reply = client.get("/readyz")
        assert reply.status_code == 200
        assert reply.json()["index"] == before["index"]
        assert client.post("/v1/search", json={"query": "GPU", "k": 1}).status_code == 200


def test_reloading_is_on_by_default() -> None:
    assert ServiceSettings().index_reload_seconds == 2.0


def test_the_default_factory_keeps_the_loaded_model_across_a_reload(
    index_copy: Path, tiny_corpus: Path, embedder: Embedder, tmp_path: Path
) -> None:
    docs = Path(shutil.copytree(tiny_corpus, tmp_path / "docs"))
    config = ServiceSettings(index=index_copy, index_reload_seconds=0.1)
    with TestClient(create_app(config)) as client:
        first = client.app.state.engine  # type: ignore[attr-defined]
        (docs / "feature-stores.md").write_text(NEW_NOTE, encoding="utf-8")
        ingest([docs], index_copy, embedder, show_progress=False)
        wait_for(client, lambda r: r.json().get("index") != str(first.version.folder))
        assert client.app.state.engine.embedder is first.embedder  # type: ignore[attr-defined]
