"""Run a question set through the engine and write report.json and report.md."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval import metrics as m
from eval.dataset import Question, load_questions
from ingest.progress import Progress
from service.engine import Engine

_RETRIEVAL = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5", "gold_recall@5")
_ANSWER = ("key_fact_recall",)


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
    scores: dict[str, float]
    timings_ms: dict[str, float]


@dataclass
class Report:
    dataset: str
    index: str
    k: int
    summary: dict[str, Any] = field(default_factory=dict)
    by_type: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreachable_gold: list[str] = field(default_factory=list)
    questions: list[QuestionResult] = field(default_factory=list)

    def summary_markdown(self) -> str:
        cols = list(_RETRIEVAL + _ANSWER) + ["n"]
        lines = [
            f"# Evaluation: {self.dataset}",
            "",
            f"Index `{self.index}`, k={self.k}, {len(self.questions)} questions.",
            "",
            "| slice | " + " | ".join(cols) + " |",
            "|---" * (len(cols) + 1) + "|",
        ]
        for name, row in [("all answerable", self.summary)] + sorted(self.by_type.items()):
            lines.append(f"| {name} | " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
        lines += ["", "| abstention | value |", "|---|---|"]
        lines += [
            f"| {key} | {_fmt(self.summary.get(key))} |"
            for key in ("abstention_accuracy", "abstention_precision", "abstention_recall",
                        "false_abstention_rate")
        ]  # fmt: skip
        lines += ["", "| latency (ms) | p50 | p95 |", "|---|---|---|"]
        for stage, values in self.summary.get("latency_ms", {}).items():
            lines.append(f"| {stage} | {_fmt(values['p50'])} | {_fmt(values['p95'])} |")
        if self.unreachable_gold:
            lines += ["", "Gold passages no chunk of the index contains (check the dataset or "
                      "the chunker): " + ", ".join(self.unreachable_gold)]  # fmt: skip
        return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def score_question(q: Question, engine: Engine, k: int) -> QuestionResult:
    hits, answer, timings = engine.run(q.question, k)
    retrieved = [(h.chunk.doc_path, f"{h.chunk.section}\n{h.chunk.text}") for h in hits]
    scores: dict[str, float] = {}
    first = None
    if q.answerable:
        ranks = m.gold_ranks(retrieved, q.gold)
        first = m.first_relevant(ranks)
        needed = len(q.gold) if q.needs_all_gold else 1
        scores = {
            "hit@1": m.hit_at(ranks, 1),
            "hit@3": m.hit_at(ranks, 3),
            "hit@5": m.hit_at(ranks, 5),
            "mrr": m.reciprocal_rank(ranks),
            "ndcg@5": m.ndcg_at(ranks, 5, needed),
            "key_fact_recall": 0.0
            if answer.abstained
            else m.key_fact_recall(answer.text, q.key_facts),
        }
        if q.needs_all_gold:
            scores["gold_recall@5"] = m.gold_recall_at(ranks, 5)
    return QuestionResult(
        id=q.id,
        type=q.type,
        question=q.question,
        answerable=q.answerable,
        abstained=answer.abstained,
        answer=answer.text,
        retrieved=[h.chunk.chunk_id for h in hits],
        first_relevant=first,
        scores=scores,
        timings_ms=timings,
    )


def aggregate(results: list[QuestionResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    out: dict[str, Any] = {"n": len(answerable)}
    for key in _RETRIEVAL + _ANSWER:
        out[key] = m.safe_mean([r.scores[key] for r in answerable if key in r.scores])
    out.update(m.abstention_scores([r.abstained for r in results], [r.answerable for r in results]))
    out["false_abstention_rate"] = m.safe_mean([float(r.abstained) for r in answerable])
    stages: dict[str, list[float]] = defaultdict(list)
    for r in results:
        for stage, ms in r.timings_ms.items():
            stages[stage].append(ms)
    out["latency_ms"] = {
        s: {"p50": m.percentile(v, 0.5), "p95": m.percentile(v, 0.95)} for s, v in stages.items()
    }
    return out


def unreachable(questions: list[Question], engine: Engine) -> list[str]:
    """Gold entries that no chunk in the index matches: a dataset or chunking problem."""
    chunks = [(c.doc_path, f"{c.section}\n{c.text}") for c in engine.version.chunks]
    return [
        f"{q.id}#{i}"
        for q in questions
        for i, g in enumerate(q.gold)
        if not any(m.matches(doc, text, g) for doc, text in chunks)
    ]


def run_eval(
    dataset: Path, engine: Engine, out_dir: Path, k: int = 5, progress: bool = True
) -> Report:
    questions = load_questions(dataset)
    report = Report(dataset=str(dataset), index=str(engine.version.folder), k=k)
    with Progress("Evaluating", total=len(questions), unit="questions", enabled=progress) as bar:
        for q in questions:
            report.questions.append(score_question(q, engine, k))
            bar.advance(1)
    report.summary = aggregate(report.questions)
    by_type: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in report.questions:
        by_type[r.type].append(r)
    report.by_type = {t: aggregate(rs) for t, rs in by_type.items() if t != "unanswerable"}
    report.unreachable_gold = unreachable(questions, engine)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(asdict(report), indent=2))
    (out_dir / "report.md").write_text(report.summary_markdown() + _details(report))
    return report


def _details(report: Report) -> str:
    lines = ["", "## Per question", "", "| id | type | first relevant | key facts | abstained |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in report.questions:
        kf = r.scores.get("key_fact_recall")
        lines.append(
            f"| {r.id} | {r.type} | {r.first_relevant or '–'} | {_fmt(kf)} | {r.abstained} |"
        )
    return "\n".join(lines) + "\n"
