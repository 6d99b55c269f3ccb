"""Run a question set through a runner, score every question and aggregate by question type."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval import metrics as m
from eval.dataset import Question, load_questions
from eval.faithfulness import FAITHFUL, faithfulness_matrix
from eval.judge import Judge
from eval.runners import EngineRunner, Passage, Runner, RunOutput
from ingest.progress import Progress
from service.answering.support import SupportScorer
from service.engine import Engine

RETRIEVAL = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5", "gold_recall@5")
ANSWER = (
    "key_fact_recall",
    "lead_key_fact_recall",
    "token_f1",
    "faithfulness",
    "citation_precision",
    "service_support",
)
JUDGE = ("judge_correctness", "judge_groundedness")
METRICS = RETRIEVAL + ANSWER + JUDGE
ABSTENTION = ("abstention_precision", "abstention_recall", "abstention_accuracy")


@dataclass
class QuestionResult:
    id: str
    type: str
    question: str
    answerable: bool
    abstained: bool
    answer: str
    retrieved: list[str]
    first_relevant: int | None
    scores: dict[str, float]  # only the metrics that apply to this question
    timings_ms: dict[str, float]
    fallback: bool = False
    evidence: float | None = None
    why_abstained: str | None = None
    split: str | None = None  # the question's locked split (tune or test)
    abstention_probability: float | None = None  # the abstention model's (None: not asked)


@dataclass
class Report:
    dataset: str
    name: str
    k: int
    split: str = "all"  # the locked split evaluated: tune, test or all
    config: dict[str, Any] = field(default_factory=dict)
    judge: str | None = None  # the judge model, when one graded the answers
    created_at: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    by_type: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_split: dict[str, dict[str, Any]] = field(default_factory=dict)  # tune and test apart
    unreachable_gold: list[str] | None = None  # None: the index was not visible (--api)
    questions: list[QuestionResult] = field(default_factory=list)


def retrieval_scores(q: Question, retrieved: list[Passage]) -> tuple[dict[str, float], int | None]:
    """Ranking metrics of an answerable question; none for an unanswerable one."""
    if not q.answerable:
        return {}, None
    ranks = m.gold_ranks([(p.doc_path, p.match_text) for p in retrieved], q.gold)
    needed = len(q.gold) if q.needs_all_gold else 1
    scores = {
        "hit@1": m.hit_at(ranks, 1),
        "hit@3": m.hit_at(ranks, 3),
        "hit@5": m.hit_at(ranks, 5),
        "mrr": m.reciprocal_rank(ranks),
        "ndcg@5": m.ndcg_at(ranks, 5, needed),
    }
    if q.needs_all_gold:
        scores["gold_recall@5"] = m.gold_recall_at(ranks, 5)
    return scores, m.first_relevant(ranks)


def reference_scores(q: Question, out: RunOutput) -> dict[str, float]:
    """Key-fact recall and token F1; an abstention on an answerable question scores 0."""
    if not q.answerable:
        return {}
    scores: dict[str, float] = {}
    if q.key_facts:
        kf = m.key_fact_recall(out.answer, q.key_facts)
        scores["key_fact_recall"] = 0.0 if out.abstained or kf is None else kf
        claims = m.answer_claims(out.answer)
        lead = m.key_fact_recall(claims[0].text, q.key_facts) if claims else None
        scores["lead_key_fact_recall"] = 0.0 if out.abstained or lead is None else lead
    if q.reference_answer.strip():
        f1 = m.token_f1(out.answer, q.reference_answer)
        scores["token_f1"] = 0.0 if out.abstained else f1
    return scores


def grounding_scores(out: RunOutput, scorer: SupportScorer) -> dict[str, float]:
    """Faithfulness and citation precision by the evaluation's own scorer (eval.faithfulness),
    and the service's support of the same sentences (SupportScorer) to compare; none for an
    abstention."""
    if out.abstained:
        return {}
    claims = m.answer_claims(out.answer)
    if not claims:
        return {}
    passages = list(out.retrieved)
    column = {p.chunk_id: i for i, p in enumerate(passages)}
    cited_columns = []
    for c in out.citations:
        if c.chunk_id not in column:  # cited but not among the retrieved (another backend)
            column[c.chunk_id] = len(passages)
            passages.append(c)
        cited_columns.append(column[c.chunk_id])
    texts = [c.text for c in claims]
    backed = faithfulness_matrix(texts, [p.text for p in passages])
    cited = [
        [cited_columns[n - 1] if 1 <= n <= len(cited_columns) else None for n in c.cited]
        for c in claims
    ]
    scores = {
        "faithfulness": m.faithfulness(backed, cited, FAITHFUL),
        "citation_precision": m.citation_precision(cited, backed, FAITHFUL),
        "service_support": m.service_support(
            cited, scorer.score(texts, [p.text for p in passages])
        ),
    }
    return {k: v for k, v in scores.items() if v is not None}


def judge_scores(q: Question, out: RunOutput, judge: Judge | None) -> dict[str, float]:
    if judge is None or not q.answerable:
        return {}
    if out.abstained:
        return {"judge_correctness": 0.0}
    passages = [p.text for p in out.retrieved]
    return judge.grade(q.question, q.reference_answer, out.answer, passages)


def score_question(
    q: Question, out: RunOutput, scorer: SupportScorer, judge: Judge | None = None
) -> QuestionResult:
    scores, first = retrieval_scores(q, out.retrieved)
    scores |= reference_scores(q, out)
    scores |= grounding_scores(out, scorer)
    scores |= judge_scores(q, out, judge)
    return QuestionResult(
        id=q.id,
        type=q.type,
        question=q.question,
        answerable=q.answerable,
        abstained=out.abstained,
        answer=out.answer,
        retrieved=[p.chunk_id for p in out.retrieved],
        first_relevant=first,
        scores={k: round(v, 4) for k, v in scores.items()},
        timings_ms=out.timings_ms,
        fallback=out.fallback,
        evidence=None if out.evidence is None else round(out.evidence, 4),
        why_abstained=out.why_abstained,
        split=q.split,
        abstention_probability=out.abstention_probability,
    )


def aggregate(results: list[QuestionResult]) -> dict[str, Any]:
    """Means over the questions each metric applies to, abstention scores and latency."""
    answerable = [r for r in results if r.answerable]
    out: dict[str, Any] = {"n": len(results), "answerable": len(answerable)}
    for key in METRICS:
        values = [r.scores[key] for r in results if key in r.scores]
        if values or key not in JUDGE:
            out[key] = m.safe_mean(values)
    out.update(m.abstention_scores([r.abstained for r in results], [r.answerable for r in results]))
    out["abstained"] = m.safe_mean([float(r.abstained) for r in results])
    out["false_abstention_rate"] = m.safe_mean([float(r.abstained) for r in answerable])
    out["fallback_rate"] = m.safe_mean([float(r.fallback) for r in results])
    if any(r.evidence is not None for r in results):
        out["evidence_sweep"] = m.evidence_sweep(
            [r.evidence for r in results],
            [r.abstained and r.why_abstained != "weak_evidence" for r in results],
            [r.answerable for r in results],
        )
    if any(r.abstention_probability is not None for r in results):
        probabilities = [r.abstention_probability for r in results]
        # Declined before the model was asked (no sentence, or below the evidence floor).
        floors = [r.abstained and r.abstention_probability is None for r in results]
        labels = [r.answerable for r in results]
        out["abstention_sweep"] = m.abstention_sweep(probabilities, floors, labels)
        out["reliability"] = m.reliability(probabilities, labels)
    stages: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for stage, ms in r.timings_ms.items():
            stages[stage].append(ms)
    out["latency_ms"] = {
        s: {"p50": m.percentile(v, 0.5), "p95": m.percentile(v, 0.95), "mean": m.safe_mean(v)}
        for s, v in stages.items()
    }
    return out


def unreachable(questions: list[Question], passages: list[Passage]) -> list[str]:
    """Gold entries that no chunk in the index matches: a dataset or chunking problem."""
    return [
        f"{q.id}#{i}"
        for q in questions
        for i, g in enumerate(q.gold)
        if not any(m.matches(p.doc_path, p.match_text, g) for p in passages)
    ]


def evaluate(
    questions: list[Question],
    runner: Runner,
    scorer: SupportScorer,
    k: int = 5,
    progress: bool = True,
    judge: Judge | None = None,
    dataset: str = "",
) -> Report:
    """Ask every question, score it and aggregate; writes nothing."""
    report = Report(
        dataset=dataset,
        name=runner.name,
        k=k,
        config=runner.describe(),
        judge=judge.model if judge else None,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    label = f"Evaluating {runner.name}"
    with Progress(label, total=len(questions), unit="questions", enabled=progress) as bar:
        for q in questions:
            out = runner.run(q.question, k)
            report.questions.append(score_question(q, out, scorer, judge))
            bar.advance(1)
    report.summary = aggregate(report.questions)
    by_type: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in report.questions:
        by_type[r.type].append(r)
    report.by_type = {t: aggregate(rs) for t, rs in sorted(by_type.items())}
    by_split: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in report.questions:
        by_split[r.split or "tune"].append(r)
    report.by_split = {s: aggregate(rs) for s, rs in sorted(by_split.items())}
    passages = runner.index_passages()
    report.unreachable_gold = None if passages is None else unreachable(questions, passages)
    return report


def run_eval(
    dataset: Path,
    runner: Runner | Engine,
    out_dir: Path,
    k: int = 5,
    progress: bool = True,
    scorer: SupportScorer | None = None,
    judge: Judge | None = None,
    plots: bool = True,
    split: str = "all",
) -> Report:
    """Evaluate ``dataset`` and write report.json, report.md and (unless off) the plots."""
    from eval.report import write_report

    if isinstance(runner, Engine):
        runner = EngineRunner(runner)
    if scorer is None:
        if not isinstance(runner, EngineRunner):
            raise ValueError("pass a SupportScorer when the runner has no engine of its own")
        scorer = SupportScorer(runner.engine.embedder)
    questions = load_questions(dataset, split)
    report = evaluate(questions, runner, scorer, k, progress, judge, str(dataset))
    report.split = split
    write_report(report, out_dir, plots=plots)
    return report
