"""GET /v1/index: the documents and the build of the loaded index."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TINY_NOTES


def test_index_lists_every_document_with_its_kind_chunks_and_url(client: TestClient) -> None:
    body = client.get("/v1/index").json()

    docs = {d["path"].rsplit("/", 1)[-1]: d for d in body["documents"]}
    assert set(docs) == set(TINY_NOTES)
    gpu = docs["gpu-sharing.md"]
    assert gpu["title"] == "Sharing GPUs between workloads" and gpu["kind"] == "doc"
    assert gpu["url"] == "https://example.org/notes/gpu-sharing"
    assert sum(d["chunks"] for d in body["documents"]) == body["chunks"]
    assert body["chunks"] == client.get("/readyz").json()["chunks"]
    assert body["kinds"] == {"doc": 3, "glossary": 1}
    assert body["model"].endswith("all-MiniLM-L6-v2") and body["dimension"] == 384
    assert body["created_at"].startswith("20") and body["version"].startswith("v-")


def test_index_without_a_loaded_index_says_how_to_build_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from service.app import create_app
    from service.settings import ServiceSettings

    with TestClient(create_app(ServiceSettings(index=tmp_path / "none"))) as c:
        response = c.get("/v1/index")

    assert response.status_code == 503 and "cnai ingest" in response.json()["error"]["message"]
