"""POST /v1/search and POST /v1/ask over a real index with the real embedder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.embed import Embedder
from tests.service.conftest import make_client
from tests.service.sse import assert_valid_citations

QUESTION = "What does scaling to zero cost the first request?"


def test_search_returns_the_passage_about_the_query_first(client: TestClient) -> None:
    resp = client.post("/v1/search", json={"query": "partition a GPU into isolated slices", "k": 3})
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert len(results) == 3
    top = results[0]
    assert "Multi-Instance GPU" in top["text"] or "MIG" in top["text"]
    assert top["source"]["path"] == "notes/gpu-sharing.md"
    assert top["source"]["title"] == "Sharing GPUs between workloads"
    assert top["source"]["url"] == "https://example.org/notes/gpu-sharing"
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_search_filters_by_kind(client: TestClient) -> None:
    resp = client.post(
        "/v1/search", json={"query": "GPU sharing", "k": 5, "filters": {"kind": "glossary"}}
    )
    assert resp.status_code == 200
    assert {r["source"]["kind"] for r in resp.json()["results"]} == {"glossary"}


def test_ask_answers_with_markers_that_match_the_citations(client: TestClient) -> None:
    resp = client.post(
        "/v1/ask", json={"question": "What does scaling to zero cost the first request?"}
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["abstained"] is False
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == {c["id"] for c in body["citations"]}
    assert "cold start" in body["answer"]
    assert any(c["source"]["path"] == "notes/model-serving.md" for c in body["citations"])
    assert body["timings_ms"]["total"] >= body["timings_ms"]["embed"]
    assert body["evidence"] > 0.2 and body["why_abstained"] is None


def test_ask_abstains_when_no_passage_supports_the_question(client: TestClient) -> None:
    resp = client.post("/v1/ask", json={"question": "What is the best recipe for banana bread?"})
    body = resp.json()
    assert resp.status_code == 200
    assert body["abstained"] is True
    assert body["citations"] == []
    assert "[" not in body["answer"]
    assert body["why_abstained"] == "weak_evidence" and body["evidence"] < 0.2


def test_ask_abstains_on_a_name_the_knowledge_base_never_mentions(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "How do I shard GPUs with Zorblax?"}).json()
    assert body["abstained"] is True
    assert "Zorblax" in body["answer"]
    assert body["why_abstained"] == "unknown_name"


def test_empty_question_is_rejected_with_a_message(client: TestClient) -> None:
    resp = client.post("/v1/ask", json={"question": "   "})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_request"
    assert "question" in resp.json()["error"]["message"]


def test_oversized_question_is_rejected_with_a_message(client: TestClient) -> None:
    resp = client.post("/v1/ask", json={"question": "why " * 600})
    assert resp.status_code == 422
    assert "2000" in resp.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/ask", b'{"question": "what is MIG \\ud800"}'),  # a lone surrogate
        ("/v1/search", b'{"query": "gpu \\udfff sharing"}'),
        ("/v1/ask", b'{"question": "what is\\u0000 MIG"}'),  # an escaped NUL
        ("/v1/search", b'{"query": "gpu\\u001b[31m"}'),  # a terminal escape
    ],
)
def test_invalid_unicode_or_control_characters_get_422_not_500(
    client: TestClient, path: str, body: bytes
) -> None:
    resp = client.post(path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid_request"
    assert client.post("/v1/search", json={"query": "gpu"}).status_code == 200


def test_out_of_range_k_is_rejected(client: TestClient) -> None:
    resp = client.post("/v1/search", json={"query": "gpu", "k": 0})
    assert resp.status_code == 422
    assert "k" in resp.json()["error"]["message"]


def test_missing_index_gives_503_that_says_how_to_build_one(
    tmp_path: Path, embedder: Embedder
) -> None:
    with make_client(tmp_path / "nothing-here", embedder) as c:
        resp = c.post("/v1/ask", json={"question": "What is MIG?"})
        assert resp.status_code == 503
        assert resp.json()["error"]["code"] == "index_not_found"
        assert "cnai ingest" in resp.json()["error"]["message"]
        assert c.get("/readyz").status_code == 503
        assert c.get("/healthz").status_code == 200


def test_index_built_with_another_model_is_refused(index_copy: Path, embedder: Embedder) -> None:
    version = index_copy / (index_copy / "CURRENT").read_text().strip()
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["model"] = "someone/else-model"
    (version / "manifest.json").write_text(json.dumps(manifest))
    with make_client(index_copy, embedder) as c:
        resp = c.post("/v1/search", json={"query": "GPU"})
        ready = c.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "index_mismatch"
    assert "someone/else-model" in resp.json()["error"]["message"]
    assert ready.status_code == 503


def test_a_question_for_a_figure_is_answered_by_a_sentence_that_gives_one(
    client: TestClient,
) -> None:
    body = client.post("/v1/ask", json={"question": "How many partitions can MIG make?"}).json()
    assert body["abstained"] is False
    assert "seven" in body["answer"]


# Near misses of the kinds the notes never give: a GA release, a price. (A count such as
# "requests per second" is not among them: the serving note's replica bounds are counts beside
# the question's words, and the count kind does not check the unit.)
@pytest.mark.parametrize(
    "question",
    [
        "In which Kubernetes release did Multi-Instance GPU become generally available?",
        "How much does an inference server cost per month?",
    ],
)
def test_a_question_for_a_figure_no_passage_gives_is_declined(
    client: TestClient, question: str
) -> None:
    body = client.post("/v1/ask", json={"question": question}).json()
    assert body["abstained"] is True
    # declined by the abstention model, not by the evidence floor or an unknown name
    assert body["why_abstained"] in {"no_figure", "missing_terms", "missing_qualifier"}
    assert "will not guess" in body["answer"]


def test_ask_gives_each_sentence_with_its_citations_and_support(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": QUESTION}).json()
    assert body["mode"] == "extractive" and body["fallback"] is False
    assert body["retrieval_query"] == QUESTION
    assert_valid_citations(body)


def test_the_local_model_answers_ask_with_valid_citations(local_client: TestClient) -> None:
    resp = local_client.post("/v1/ask", json={"question": QUESTION, "mode": "local", "k": 3})
    assert resp.status_code == 200
    body = resp.json()
    assert body["mode"] == "local" and body["abstained"] is False
    assert_valid_citations(body)
    assert body["timings_ms"]["generate"] > 0


def test_an_unknown_mode_is_rejected_with_the_modes_there_are(client: TestClient) -> None:
    resp = client.post("/v1/ask", json={"question": QUESTION, "mode": "gpt-5"})
    assert resp.status_code == 422
    message = resp.json()["error"]["message"]
    assert "mode" in message and "'local'" in message


def test_openai_mode_without_a_server_configured_is_a_503_that_says_what_to_set(
    client: TestClient,
) -> None:
    resp = client.post("/v1/ask", json={"question": QUESTION, "mode": "openai"})
    assert resp.status_code == 503
    assert resp.json()["error"]["code"] == "llm_not_configured"
    assert "CNAI_OPENAI_BASE_URL" in resp.json()["error"]["message"]
