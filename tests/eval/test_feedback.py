"""cnai eval --from-feedback: thumbs-down answers from the API become candidate dev questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.dataset import Question, load_questions, split_of
from eval.feedback import CANDIDATES_FILE
from ingest.embed import Embedder
from service.cli import app
from tests.service.conftest import make_client

QUESTIONS = ["How can several pods share one GPU?", "What does a vector database store?"]


@pytest.fixture
def export(tiny_index: Path, embedder: Embedder, tmp_path: Path) -> Path:
    """A real export: answers from the API, rated through POST /v1/feedback."""
    with make_client(tiny_index, embedder, feedback_db=tmp_path / "fb.sqlite") as client:
        ratings = [(QUESTIONS[0], "down", "Misses MPS."), (QUESTIONS[1], "up", ""),
                   (QUESTIONS[0].upper(), "down", "Still misses MPS.")]  # fmt: skip
        for question, rating, comment in ratings:
            answer = client.post("/v1/ask", json={"question": question}).json()
            body = {"question": question, "answer": answer["answer"], "rating": rating,
                    "citations": answer["citations"], "comment": comment}  # fmt: skip
            assert client.post("/v1/feedback", json=body).status_code == 201
        path = tmp_path / "export.json"
        path.write_text(client.get("/v1/feedback/export").text, encoding="utf-8")
    return path


def test_thumbs_down_items_become_one_candidate_per_question_marked_for_review(
    export: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", "--from-feedback", str(export), "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "1 candidate questions from 3 feedback items" in result.output
    lines = (out / CANDIDATES_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    case = json.loads(lines[0])
    assert case["question"] == QUESTIONS[0] and case["split"] == split_of(case["id"])
    review = case["review"]
    assert review["status"] == "needs_review" and review["feedback_ids"] == [1, 3]
    assert review["comments"] == ["Misses MPS.", "Still misses MPS."]
    assert review["cited"] and review["cited"][0]["source"].endswith(".md")
    assert review["answer_given"] and review["index_version"].startswith("v-")
    # The dev-set shape, refused until a person adds the gold passages...
    with pytest.raises(Exception, match="gold passage"):
        load_questions(out / CANDIDATES_FILE)
    # ... and accepted once they have.
    case["gold"] = [{"source": review["cited"][0]["source"], "evidence": ["GPU"]}]
    assert Question.model_validate(case).split == case["split"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "nor JSONL"),
        ('{"items": [{"question": "q", "answer": "a", "rating": "sideways"}]}', "item 1"),
        (
            '{"question": "q", "answer": "a", "rating": "up", "id": 1, "created_at": "t"}\n'
            '{"x": 1}',
            "line 2",
        ),
    ],
)
def test_a_bad_feedback_file_is_refused_saying_where(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "fb.json"
    path.write_text(content, encoding="utf-8")

    result = CliRunner().invoke(app, ["eval", "--from-feedback", str(path), "--out", str(tmp_path)])

    assert result.exit_code != 0 and message in result.output
    assert not (tmp_path / CANDIDATES_FILE).exists()
