"""An API client over the tiny real index, with the session's embedder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.embed import Embedder
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings


def make_client(index: Path, embedder: Embedder, **settings: object) -> TestClient:
    config = ServiceSettings(index=index, **settings)  # type: ignore[arg-type]
    return TestClient(create_app(config, engine_factory=lambda: Engine(config, embedder)))


@pytest.fixture(scope="module")
def client(tiny_index: Path, embedder: Embedder) -> Iterator[TestClient]:
    """A client of the app over the tiny index, lifespan started."""
    with make_client(tiny_index, embedder) as c:
        yield c
