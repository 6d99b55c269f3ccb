"""``cnai calibrate`` on the tiny real index, templated near misses and the threshold choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.calibrate import choose_threshold, near_misses, sweep, topics
from eval.dataset import Question, split_of
from service.answering import abstention
from service.cli import app
from service.engine import Engine

runner = CliRunner()


def _question(qid: str, text: str, source: str = "", evidence: str = "") -> dict[str, object]:
    answerable = bool(source)
    return {
        "id": qid,
        "question": text,
        "type": "factoid" if answerable else "unanswerable",
        "answerable": answerable,
        "gold": [{"source": source, "evidence": [evidence]}] if answerable else [],
        "split": split_of(qid),
    }


# Over tests/conftest.py's TINY_NOTES; every id falls in the tune split.
TUNE = [
    _question("c1", "How many partitions can MIG make of one card?", "gpu-sharing.md", "seven"),
    _question("c3", "Why does MPS give no hard isolation?", "gpu-sharing.md", "hard isolation"),
    _question("c4", "What does time-slicing do to latency?", "gpu-sharing.md", "predictable"),
    _question("c5", "What does an inference server batch?", "model-serving.md", "batches"),
    _question("c6", "How do Canary rollouts work?", "model-serving.md", "small share"),
    _question("c8", "What does RAG give the language model?", "vector-databases.md", "context"),
    _question("c9", "What do HNSW indexes trade away?", "vector-databases.md", "recall"),
    _question("c10", "What is cloud native AI?", "cloud-native-ai.md", "containers"),
    _question("c11", "How much does a MIG licence cost per month?"),
    _question("c12", "In which release did MPS become generally available?"),
    _question("c13", "Who invented HNSW indexes?"),
    _question("c14", "What percentage of requests wait for a cold start?"),
    _question("c15", "Does Zorblax support GPU sharing?"),
    _question("c16", "On what date was RAG first announced?"),
]


@pytest.fixture
def tune_set(tmp_path: Path) -> Path:
    assert all(q["split"] == "tune" for q in TUNE)
    path = tmp_path / "tune.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in TUNE))
    return path


@pytest.mark.usefixtures("cli_shares_the_model")
def test_calibrate_on_a_tiny_index_writes_a_model_the_answerer_loads(
    tiny_index: Path, tune_set: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model.json"
    result = runner.invoke(
        app,
        ["calibrate", "--index", str(tiny_index), "--dataset", str(tune_set), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "cross-validated on tune" in result.output
    model = abstention.load(out)
    assert model.features == list(abstention.FEATURES)
    data = json.loads(out.read_text())
    assert data["split"] == "tune" and data["datasets"] == [str(tune_set)]
    assert data["examples"]["templated"] > 0
    assert {"pooled", "sweep", "folds"} <= set(data["cross_validation"])


def test_calibrate_refuses_a_missing_question_set(tiny_index: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["calibrate", "--index", str(tiny_index), "--dataset", str(tmp_path / "no.jsonl")]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.usefixtures("cli_shares_the_model")
def test_calibrate_refuses_a_set_with_too_few_unanswerable_questions(
    tiny_index: Path, tmp_path: Path
) -> None:
    path = tmp_path / "few.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in TUNE[:8]))
    out = tmp_path / "model.json"
    args = ["calibrate", "--index", str(tiny_index), "--dataset", str(path), "--out", str(out)]
    result = runner.invoke(app, [*args, "--no-templates"])
    assert result.exit_code == 2
    assert "at least 5" in result.output and not out.exists()


def test_topics_are_the_named_things_of_a_question() -> None:
    assert topics("How does Dynamic Resource Allocation differ from MIG?") == [
        "Dynamic Resource Allocation",
        "MIG",
    ]
    assert topics("What is a GPU?") == ["GPU"]
    assert topics("Why share accelerators at all?") == []


def test_a_template_is_kept_only_when_no_sentence_on_the_topic_gives_its_answer(
    engine: Engine,
) -> None:
    questions = [Question.model_validate(q) for q in TUNE if q["answerable"]]
    made = near_misses(engine, questions)
    assert made
    asked = {text for _, text, _ in made}
    assert {name for _, _, name in made} <= {
        "price",
        "ga_release",
        "creator",
        "share",
        "date",
        "place",
    }
    # "How many partitions" is no template: the notes give MIG's partition count.
    assert not any("seven" in text for text in asked)


def test_the_threshold_is_the_one_of_best_recall_at_the_precision_asked() -> None:
    probabilities = [0.95, 0.9, 0.85, 0.8, 0.6, 0.3, 0.2, 0.1]
    unanswerable = [True, True, True, False, True, False, False, False]
    floors = [False] * len(probabilities)
    t = choose_threshold(probabilities, floors, unanswerable)
    assert t == 0.85  # 0.6 would add a false abstention at 0.8: precision 0.8
    rows = sweep(probabilities, floors, unanswerable, (0.5, 0.9))
    assert rows[0]["recall"] == 1.0 and rows[0]["precision"] == 0.8
    assert rows[1]["recall"] == 0.5 and rows[1]["precision"] == 1.0
