"""Compare two reports: aggregate deltas, and which questions got better or worse."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.report import fmt
from eval.run import ABSTENTION, METRICS

# Lower is better for these aggregate figures; higher for everything else.
LOWER_IS_BETTER = {"false_abstention_rate", "latency p50 total (ms)", "latency p95 total (ms)"}
_EPS = 1e-9


@dataclass
class QuestionChange:
    id: str
    type: str
    question: str
    changes: list[tuple[str, float | None, float | None]] = field(default_factory=list)

    @property
    def direction(self) -> int:
        """+1 when every change is a gain, -1 when every change is a loss, else 0 (mixed).

        A metric that starts or stops applying (faithfulness once an abstention becomes an
        answer) is listed but does not decide the direction.
        """
        signs = {
            1 if new > old else -1
            for _, old, new in self.changes
            if old is not None and new is not None
        }
        return signs.pop() if len(signs) == 1 else 0


@dataclass
class Diff:
    old_name: str
    new_name: str
    old_about: str = ""
    new_about: str = ""
    aggregate: list[tuple[str, float | None, float | None]] = field(default_factory=list)
    better: list[QuestionChange] = field(default_factory=list)
    worse: list[QuestionChange] = field(default_factory=list)
    mixed: list[QuestionChange] = field(default_factory=list)
    unchanged: int = 0
    only_old: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)


def _question_scores(q: dict[str, Any]) -> dict[str, float]:
    scores = {k: float(v) for k, v in q.get("scores", {}).items() if k in METRICS}
    scores["abstention_correct"] = float(bool(q["abstained"]) != bool(q["answerable"]))
    return scores


def _aggregate_rows(summary: dict[str, Any]) -> dict[str, float | None]:
    rows: dict[str, float | None] = {
        k: summary.get(k) for k in (*METRICS, *ABSTENTION, "false_abstention_rate")
    }
    total = summary.get("latency_ms", {}).get("total", {})
    rows["latency p50 total (ms)"] = total.get("p50")
    rows["latency p95 total (ms)"] = total.get("p95")
    return rows


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> Diff:
    d = Diff(old.get("name", "old"), new.get("name", "new"), _about(old), _about(new))
    a, b = _aggregate_rows(old["summary"]), _aggregate_rows(new["summary"])
    d.aggregate = [(k, a.get(k), b.get(k)) for k in a if a.get(k) is not None or b.get(k)]
    before = {q["id"]: q for q in old["questions"]}
    after = {q["id"]: q for q in new["questions"]}
    d.only_old = [i for i in before if i not in after]
    d.only_new = [i for i in after if i not in before]
    for qid, q in after.items():
        if qid not in before:
            continue
        s_old, s_new = _question_scores(before[qid]), _question_scores(q)
        change = QuestionChange(qid, q["type"], q["question"])
        for metric in dict.fromkeys([*s_old, *s_new]):
            x, y = s_old.get(metric), s_new.get(metric)
            if abs((x or 0.0) - (y or 0.0)) > _EPS or (x is None) != (y is None):
                change.changes.append((metric, x, y))
        if not change.changes:
            d.unchanged += 1
        else:
            {1: d.better, -1: d.worse, 0: d.mixed}[change.direction].append(change)
    return d


def _about(report: dict[str, Any]) -> str:
    config = report.get("config", {})
    where = config.get("url") or config.get("index") or ""
    parts = [Path(report.get("dataset", "")).name, where, report.get("created_at", "")]
    return ", ".join(p for p in parts if p)


def _delta(metric: str, old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return "–"
    delta = new - old
    if abs(delta) < 0.0005 * max(1.0, abs(old)):
        return "="
    good = (delta < 0) if metric in LOWER_IS_BETTER else (delta > 0)
    return f"{delta:+.3f} {'better' if good else 'worse'}"


def _changes(c: QuestionChange) -> str:
    return ", ".join(f"{m} {fmt(x)}→{fmt(y)}" for m, x, y in c.changes)


def diff_markdown(d: Diff) -> str:
    lines = [
        f"# Diff: {d.old_name} → {d.new_name}",
        "",
        f"Old: {d.old_about or 'unknown'}. New: {d.new_about or 'unknown'}.",
        "",
        "| metric | old | new | change |",
        "|---|---|---|---|",
    ]
    lines += [f"| {m} | {fmt(x)} | {fmt(y)} | {_delta(m, x, y)} |" for m, x, y in d.aggregate]
    for title, items in (("Better", d.better), ("Worse", d.worse), ("Mixed", d.mixed)):
        lines += ["", f"## {title} ({len(items)})"]
        if items:
            lines += ["", "| id | type | changes | question |", "|---|---|---|---|"]
            lines += [
                f"| {c.id} | {c.type} | {_changes(c)} | {' '.join(c.question.split())[:80]} |"
                for c in items
            ]
    lines += ["", f"{d.unchanged} questions unchanged."]
    if d.only_old:
        lines.append(f"Only in the old report: {', '.join(d.only_old)}.")
    if d.only_new:
        lines.append(f"Only in the new report: {', '.join(d.only_new)}.")
    return "\n".join(lines) + "\n"
