"""POST /v1/feedback and GET /v1/feedback/export over the tiny index, kept in a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.embed import Embedder
from tests.service.conftest import make_client

QUESTION = "How can several pods share one GPU?"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "var" / "feedback.sqlite"


@pytest.fixture
def fb_client(tiny_index: Path, embedder: Embedder, db: Path) -> Iterator[TestClient]:
    with make_client(tiny_index, embedder, feedback_db=db) as c:
        yield c


def _asked(client: TestClient) -> dict:  # type: ignore[type-arg]
    body: dict = client.post("/v1/ask", json={"question": QUESTION}).json()  # type: ignore[type-arg]
    return body


def test_feedback_on_a_real_answer_is_stored_with_its_citations_and_index_version(
    fb_client: TestClient, db: Path
) -> None:
    answer = _asked(fb_client)
    assert not db.exists()  # nothing is written before the first feedback

    posted = fb_client.post(
        "/v1/feedback",
        json={
            "question": QUESTION, "answer": answer["answer"], "citations": answer["citations"],
            "rating": "down", "comment": "  It skipped time-slicing. ",
            "history": [{"role": "user", "content": "What is MIG?"}],
        },
    )  # fmt: skip

    assert posted.status_code == 201, posted.text
    stored = posted.json()
    version = fb_client.get("/readyz").json()["index"].rsplit("/", 1)[-1]
    assert stored["index_version"] == version and stored["id"] == 1
    items = fb_client.get("/v1/feedback/export").json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["question"] == QUESTION and item["answer"] == answer["answer"]
    assert item["rating"] == "down" and item["comment"] == "It skipped time-slicing."
    assert [c["chunk_id"] for c in item["citations"]] == [
        c["chunk_id"] for c in answer["citations"]
    ]
    assert item["history"][0]["content"] == "What is MIG?"
    assert item["created_at"].endswith("+00:00") and item["index_version"] == version
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT rating, question FROM feedback").fetchall() == [
            ("down", QUESTION)
        ]


def test_export_filters_by_rating_and_keeps_the_order(fb_client: TestClient) -> None:
    for rating in ("up", "down", "up"):
        body = {"question": QUESTION, "answer": "a", "rating": rating}
        assert fb_client.post("/v1/feedback", json=body).status_code == 201

    ups = fb_client.get("/v1/feedback/export", params={"rating": "up"}).json()["items"]
    everything = fb_client.get("/v1/feedback/export").json()["items"]

    assert [i["rating"] for i in everything] == ["up", "down", "up"]
    assert [i["id"] for i in ups] == [1, 3]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"question": QUESTION, "answer": "a", "rating": "meh"}, "rating"),
        ({"question": "  ", "answer": "a", "rating": "up"}, "question"),
        ({"question": QUESTION, "answer": "a"}, "rating"),
        ({"question": QUESTION, "answer": "a", "rating": "up", "comment": "x" * 2001}, "comment"),
        ({"question": QUESTION, "answer": "a", "rating": "up", "comment": "a\x00b"}, "comment"),
    ],
)
def test_invalid_feedback_is_refused_naming_the_field(
    fb_client: TestClient,
    db: Path,
    body: dict,
    problem: str,  # type: ignore[type-arg]
) -> None:
    response = fb_client.post("/v1/feedback", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(problem)
    assert fb_client.get("/v1/feedback/export").json()["items"] == []


def test_bad_export_rating_is_refused(fb_client: TestClient) -> None:
    response = fb_client.get("/v1/feedback/export", params={"rating": "sideways"})

    assert response.status_code == 422 and "rating" in response.json()["error"]["message"]
