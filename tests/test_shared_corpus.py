"""End to end over the real CNAI documents: ingest, serve, answer with citations."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.embed import Embedder
from tests.service.conftest import make_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cnai_client(cnai_index: Path, embedder: Embedder):  # type: ignore[no-untyped-def]
    with make_client(cnai_index, embedder) as client:
        yield client


def test_the_whitepaper_definition_of_cnai_is_found_and_cited(cnai_client: TestClient) -> None:
    body = cnai_client.post("/v1/ask", json={"question": "What is cloud native AI?"}).json()
    assert body["abstained"] is False
    cited = {c["source"]["path"] for c in body["citations"]}
    assert cited & {"cnai/whitepapers--cloudnativeai.md", "cnai/glossary.md"}
    assert "cloud native" in body["answer"].lower()


def test_a_gpu_sharing_question_retrieves_the_whitepaper(cnai_client: TestClient) -> None:
    results = cnai_client.post(
        "/v1/search", json={"query": "How can several inference services share one GPU?", "k": 5}
    ).json()["results"]
    assert any(r["source"]["path"] == "cnai/whitepapers--cloudnativeai.md" for r in results)
    assert any("MIG" in r["text"] or "Multi-Instance" in r["text"] for r in results)


def test_a_question_about_an_unmentioned_product_is_declined(cnai_client: TestClient) -> None:
    body = cnai_client.post(
        "/v1/ask", json={"question": "How do I tune Slurm partitions for H100 nodes?"}
    ).json()
    assert body["abstained"] is True
    assert body["citations"] == []
