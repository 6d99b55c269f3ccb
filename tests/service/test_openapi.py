"""The served OpenAPI schema documents what the API really returns (bugs schemathesis found)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


@pytest.fixture(scope="module")
def schema(client: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/openapi.json").json()
    return doc


def _responses(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path][method]["responses"]
    return responses


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v1/search"), ("post", "/v1/ask"), ("post", "/v1/feedback"), ("get", "/v1/index")],
)
def test_errors_are_documented_in_the_shape_the_api_sends(
    schema: dict[str, Any], method: str, path: str
) -> None:
    responses = _responses(schema, method, path)
    for status in ("401", "403", "413", "422", "429", "503"):
        assert responses[status]["content"]["application/json"]["schema"] == ERROR_REF, status
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_a_422_body_matches_the_documented_error_shape(client: TestClient) -> None:
    body = client.post("/v1/search", json={"query": ""}).json()
    assert set(body) == {"error"}
    assert {"code", "message", "details"} <= set(body["error"])


def test_the_answer_stream_is_documented_as_server_sent_events(schema: dict[str, Any]) -> None:
    responses = _responses(schema, "post", "/v1/ask/stream")
    assert set(responses["200"]["content"]) == {"text/event-stream"}
    event = responses["200"]["content"]["text/event-stream"]["schema"]
    assert event["properties"]["event"]["enum"] == ["token", "final", "error"]
    # Errors before the stream starts are plain JSON, not events.
    assert responses["422"]["content"] == {"application/json": {"schema": ERROR_REF}}


def test_chat_completions_document_json_and_streamed_chunks(schema: dict[str, Any]) -> None:
    content = _responses(schema, "post", "/v1/chat/completions")["200"]["content"]
    assert {"application/json", "text/event-stream"} <= set(content)


def test_an_unknown_ingest_job_is_a_documented_404(schema: dict[str, Any]) -> None:
    responses = _responses(schema, "get", "/v1/ingest/{job_id}")
    assert responses["404"]["content"]["application/json"]["schema"] == ERROR_REF


def test_request_bodies_forbid_unknown_fields_but_chat_does_not(schema: dict[str, Any]) -> None:
    models = schema["components"]["schemas"]
    for name in ("SearchRequest", "AskRequest", "FeedbackRequest", "Filters", "Turn"):
        assert models[name].get("additionalProperties") is False, name
    assert models["ChatRequest"].get("additionalProperties") is not False
