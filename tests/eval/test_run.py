"""The evaluation runner: per-question scores and their edge cases, aggregation, report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.dataset import Question
from eval.run import aggregate, run_eval, score_question
from eval.runners import Passage, RunOutput
from ingest.embed import Embedder
from service.answering.support import SupportScorer
from service.engine import Engine

from .conftest import TINY_QUESTIONS

MIG = Passage(
    "c1",
    "notes/gpu-sharing.md",
    "Multi-Instance GPU",
    "Multi-Instance GPU (MIG) cuts a supported card into up to seven hardware partitions. "
    "Each partition has its own memory and compute slices.",
)
OTHER = Passage("c2", "notes/vector-databases.md", "Embeddings", "An embedding model turns text.")
FACTOID = Question.model_validate(TINY_QUESTIONS[0])
UNANSWERABLE = Question.model_validate(TINY_QUESTIONS[3])


@pytest.fixture(scope="module")
def scorer(embedder: Embedder) -> SupportScorer:
    return SupportScorer(embedder)


def output(answer: str, abstained: bool = False, cites: tuple[Passage, ...] = ()) -> RunOutput:
    """An answer after retrieving [OTHER, MIG]; its [n] marker points at cites[n - 1]."""
    return RunOutput([OTHER, MIG], answer, abstained, list(cites))


def test_a_grounded_cited_answer_scores_on_every_metric(scorer: SupportScorer) -> None:
    out = output(
        "Multi-Instance GPU (MIG) cuts a supported card into up to seven partitions. [1]",
        cites=(OTHER,),
    )
    r = score_question(FACTOID, out, scorer)
    assert r.first_relevant == 2
    assert (r.scores["hit@1"], r.scores["hit@3"], r.scores["mrr"]) == (0.0, 1.0, 0.5)
    assert r.scores["key_fact_recall"] == 1.0
    assert 0 < r.scores["token_f1"] < 1
    # It cites the wrong passage: judged on what it cites, it is neither faithful nor precise.
    assert (r.scores["faithfulness"], r.scores["citation_precision"]) == (0.0, 0.0)
    right = score_question(FACTOID, output(out.answer, cites=(MIG,)), scorer)
    assert (right.scores["faithfulness"], right.scores["citation_precision"]) == (1.0, 1.0)
    assert "gold_recall@5" not in r.scores  # only for multi-hop questions


def test_a_sentence_no_passage_supports_lowers_faithfulness(scorer: SupportScorer) -> None:
    out = output(
        "MIG cuts a supported card into up to seven hardware partitions. "
        "Penguins migrate across the Sahara every winter in large flocks."
    )
    r = score_question(FACTOID, out, scorer)
    assert r.scores["faithfulness"] == 0.5
    assert "citation_precision" not in r.scores  # no [n] marker: does not apply


def test_an_abstention_scores_zero_recall_and_no_faithfulness(scorer: SupportScorer) -> None:
    r = score_question(FACTOID, output("I could not find this.", abstained=True), scorer)
    assert (r.scores["key_fact_recall"], r.scores["token_f1"]) == (0.0, 0.0)
    assert "faithfulness" not in r.scores and "citation_precision" not in r.scores
    assert r.scores["hit@5"] == 1.0  # retrieval is still measured


def test_an_empty_answer_scores_zero_recall_and_no_faithfulness(scorer: SupportScorer) -> None:
    r = score_question(FACTOID, output(""), scorer)
    assert (r.scores["key_fact_recall"], r.scores["token_f1"]) == (0.0, 0.0)
    assert "faithfulness" not in r.scores


def test_a_question_whose_gold_is_not_retrieved_scores_zero(scorer: SupportScorer) -> None:
    out = RunOutput([OTHER], "Nothing.", False)
    r = score_question(FACTOID, out, scorer)
    assert r.first_relevant is None
    assert (r.scores["hit@5"], r.scores["mrr"], r.scores["ndcg@5"]) == (0.0, 0.0, 0.0)


def test_an_unanswerable_question_gets_no_retrieval_or_reference_scores(
    scorer: SupportScorer,
) -> None:
    answered = score_question(UNANSWERABLE, output(MIG.text + " [1]", cites=(MIG,)), scorer)
    assert set(answered.scores) == {"faithfulness", "citation_precision", "service_support"}
    refused = score_question(UNANSWERABLE, output("No.", abstained=True), scorer)
    assert refused.scores == {}


def test_aggregate_leaves_out_what_does_not_apply(scorer: SupportScorer) -> None:
    results = [
        score_question(FACTOID, output(MIG.text + " [1]", cites=(MIG,)), scorer),
        score_question(FACTOID, output("No.", abstained=True), scorer),
        score_question(UNANSWERABLE, output("No.", abstained=True), scorer),
    ]
    s = aggregate(results)
    assert (s["n"], s["answerable"]) == (3, 2)
    assert s["key_fact_recall"] == 0.5  # the abstention counts as 0
    assert s["faithfulness"] == 1.0  # only the one answer counts
    assert s["gold_recall@5"] is None
    assert (s["abstention_precision"], s["abstention_recall"]) == (0.5, 1.0)
    assert s["false_abstention_rate"] == 0.5
    assert "judge_correctness" not in s  # no judge, no column


def test_report_files_hold_aggregate_and_per_question_scores(
    engine: Engine, tiny_dataset: Path, tmp_path: Path
) -> None:
    report = run_eval(tiny_dataset, engine, tmp_path / "out", k=3, progress=False)

    out = tmp_path / "out"
    data = json.loads((out / "report.json").read_text())
    assert data["summary"]["hit@3"] == pytest.approx(2 / 3)  # t3's gold is in no document
    assert data["summary"]["abstention_recall"] == 1.0
    assert [q["id"] for q in data["questions"]] == ["t1", "t2", "t3", "t4"]
    assert data["questions"][0]["first_relevant"] == 1
    assert data["questions"][2]["first_relevant"] is None
    assert data["unreachable_gold"] == ["t3#0"]
    assert all(0 < q["evidence"] <= 1 for q in data["questions"])
    sweep = data["summary"]["evidence_sweep"]
    assert [r["threshold"] for r in sweep] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    recalls = [r["abstention_recall"] for r in sweep]
    assert recalls == sorted(recalls)  # a higher bar refuses at least as much
    assert set(data["summary"]["latency_ms"]) >= {"embed", "retrieve", "answer", "total"}
    assert report.by_type["factoid"]["n"] == 1 and "unanswerable" in report.by_type
    markdown = (out / "report.md").read_text()
    assert "| all | 4 |" in markdown and "| t4 | unanswerable |" in markdown
    assert "| min evidence | abstention precision |" in markdown
    for name in ("metrics", "by_type", "latency"):
        assert f"![{name}]({name}.png)" in markdown
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_markdown_table_row_has_as_many_cells_as_its_header(
    engine: Engine, tiny_dataset: Path, tmp_path: Path
) -> None:
    run_eval(tiny_dataset, engine, tmp_path, k=3, progress=False, plots=False)
    header = None
    for line in (tmp_path / "report.md").read_text().splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = line.replace("\\|", "").count("|")
        header = header or cells
        assert cells == header, line
