"""/metrics over the real app: request, stage, abstention and index metrics move with traffic."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ingest.embed import Embedder
from tests.service.conftest import make_client


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(resp.text)
        for s in family.samples
    }


def value(snap: dict, name: str, **labels: str) -> float:
    return snap.get((name, tuple(sorted(labels.items()))), 0.0)


def test_search_and_ask_move_request_and_stage_metrics(client: TestClient) -> None:
    before = samples(client)
    assert client.post("/v1/search", json={"query": "model serving", "k": 3}).status_code == 200
    assert client.post("/v1/ask", json={"question": "What is model serving?"}).status_code == 200
    after = samples(client)
    for route in ("/v1/search", "/v1/ask"):
        labels = {"route": route, "method": "POST", "status": "200"}
        assert value(after, "cnai_http_requests_total", **labels) == (
            value(before, "cnai_http_requests_total", **labels) + 1
        )
        assert value(after, "cnai_http_request_duration_seconds_count", **labels) == (
            value(before, "cnai_http_request_duration_seconds_count", **labels) + 1
        )
    # Search embeds and retrieves; ask does both again, so each stage is seen twice.
    for stage in ("embed", "retrieve"):
        count = "cnai_stage_duration_seconds_count"
        assert value(after, count, stage=stage) == value(before, count, stage=stage) + 2
    answered = value(after, "cnai_answers_total") - value(before, "cnai_answers_total")
    abstained = sum(v for (n, _), v in after.items() if n == "cnai_abstentions_total") - sum(
        v for (n, _), v in before.items() if n == "cnai_abstentions_total"
    )
    assert answered + abstained == 1


def test_unanswerable_question_counts_an_abstention_by_reason(client: TestClient) -> None:
    before = samples(client)
    resp = client.post("/v1/ask", json={"question": "What is the Zorblax protocol of Quentaria?"})
    body = resp.json()
    assert body["abstained"], body
    after = samples(client)
    reason = body["why_abstained"] or "unspecified"
    name = "cnai_abstentions_total"
    assert value(after, name, reason=reason) == value(before, name, reason=reason) + 1


def test_index_gauges_and_version_info_match_readyz(client: TestClient) -> None:
    ready = client.get("/readyz").json()
    snap = samples(client)
    assert value(snap, "cnai_index_documents") == ready["documents"] > 0
    assert value(snap, "cnai_index_chunks") == ready["chunks"] > 0
    info = [labels for (n, labels), _ in snap.items() if n == "cnai_index_info"]
    assert len(info) == 1
    assert dict(info[0])["version"] == Path(ready["index"]).name
    assert dict(info[0])["model"] == ready["model"]


def test_unknown_path_is_labelled_unmatched_not_by_its_raw_path(client: TestClient) -> None:
    client.get("/no/such/path/12345")
    names = {dict(labels).get("route") for (n, labels), _ in samples(client).items()}
    assert "unmatched" in names
    assert "/no/such/path/12345" not in names


def test_two_apps_keep_separate_registries(tiny_index: Path, embedder: Embedder) -> None:
    with make_client(tiny_index, embedder) as a, make_client(tiny_index, embedder) as b:
        a.get("/healthz")
        a.get("/healthz")
        labels = {"route": "/healthz", "method": "GET", "status": "200"}
        assert value(samples(a), "cnai_http_requests_total", **labels) == 2
        assert value(samples(b), "cnai_http_requests_total", **labels) == 0
