"""GET /healthz, GET /readyz and the OpenAPI docs."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_ready_once_the_index_is_loaded(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["documents"] == 4
    assert body["chunks"] > 4


def test_openapi_docs_list_the_qa_routes(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/search", "/v1/ask", "/healthz", "/readyz"} <= set(paths)
