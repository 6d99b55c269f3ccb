"""Write a report: report.json (everything), report.md (tables people read) and the plots."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from eval.run import ABSTENTION, JUDGE, METRICS, Report
from ingest.errors import BadInput

DEFINITIONS = """\
## How the metrics are computed

- **hit@k, mrr, ndcg@5**: a retrieved passage is relevant when it comes from a gold document and
  holds one of its evidence phrases; hit@k is 1 when one is in the top k, mrr is 1/rank of the
  first, ndcg@5 uses binary relevance (the ideal holds every gold passage of a multi-hop
  question). **gold_recall@5**: share of a multi-hop question's gold passages in the top 5.
  Answerable questions only.
- **key_fact_recall**: share of key facts (any `|` alternative) in the answer.
  **lead_key_fact_recall**: the same, in the answer's first sentence only (does it answer
  first?). **token_f1**:
  SQuAD token F1 against the reference answer (lower case, no punctuation or articles, citation
  markers removed). An abstention on an answerable question scores 0 on both.
- **faithfulness**: share of answer sentences backed by a passage they cite (any retrieved
  passage for a sentence without a marker), by the evaluation's own scorer
  (`eval/faithfulness.py`: content words found in order, and every number and name of the
  sentence in the passage; ≥ `FAITHFUL`), which shares no code with the service's
  `SupportScorer`. **citation_precision**: share of `[n]`-cited sentences that a passage they
  cite backs, by the same scorer. **service_support**: the mean support the service's own
  `SupportScorer` gives each sentence on its cited passages, for comparison (a quote scores 1.0
  by construction). None applies to abstentions or answers with no sentence.
- **abstention precision / recall**: unanswerable questions are the positives.
  **false_abstention_rate**: share of answerable questions the assistant refused.
- **fallback_rate**: share of answers where a generative backend fell back to the
  extractive answer (no generated sentence was supported).
- **judge_correctness, judge_groundedness**: grades of the optional LLM judge.
- A dash means the metric applies to no question of that slice.
"""


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _columns(report: Report) -> list[str]:
    present = {k for row in [report.summary, *report.by_type.values()] for k in row}
    return [k for k in METRICS if k not in JUDGE or k in present]


def summary_markdown(report: Report) -> str:
    """Heading, the per-slice table, abstention and latency: what the CLI prints."""
    s = report.summary
    cols = ["n", *_columns(report), "abstained"]
    where = report.config.get("url") or report.config.get("index") or ""
    mode = report.config.get("mode")
    lines = [
        f"# Evaluation: {Path(report.dataset).name} — {report.name}",
        "",
        f"{s['n']} questions ({s['answerable']} answerable, split `{report.split}`), k={report.k}"
        + (f", `{where}`" if where else "")
        + (f", mode `{mode}`" if mode else "")
        + f"; LLM judge: {report.judge or 'not used'}.",
        "",
        "| slice | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name, row in [("all", s), *report.by_type.items()]:
        lines.append(f"| {name} | " + " | ".join(fmt(row.get(c)) for c in cols) + " |")
    if len(report.by_split) > 1:
        lines += ["", "| split | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for name, row in report.by_split.items():
            lines.append(f"| {name} | " + " | ".join(fmt(row.get(c)) for c in cols) + " |")
    lines += ["", "| abstention | value |", "|---|---|"]
    keys = (*ABSTENTION, "false_abstention_rate", "fallback_rate")
    lines += [f"| {key} | {fmt(s.get(key))} |" for key in keys]
    if s.get("evidence_sweep"):
        lines += [
            "",
            "Had CNAI_MIN_EVIDENCE been each threshold (the other abstention rules as they ran):",
            "",
            "| min evidence | abstention precision | abstention recall | false abstention rate |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {fmt(r['threshold'])} | {fmt(r['abstention_precision'])} | "
            f"{fmt(r['abstention_recall'])} | {fmt(r['false_abstention_rate'])} |"
            for r in s["evidence_sweep"]
        ]
    if s.get("abstention_sweep"):
        lines += [
            "",
            "Had the abstention model's threshold been each value (declines below the evidence "
            "floor count at every one):",
            "",
            "| threshold | abstention precision | abstention recall | false abstention rate |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {fmt(r['threshold'])} | {fmt(r['abstention_precision'])} | "
            f"{fmt(r['abstention_recall'])} | {fmt(r['false_abstention_rate'])} |"
            for r in s["abstention_sweep"]
        ]
    lines += ["", "| latency (ms) | p50 | p95 | mean |", "|---|---|---|---|"]
    for stage, v in s.get("latency_ms", {}).items():
        lines.append(f"| {stage} | {fmt(v['p50'])} | {fmt(v['p95'])} | {fmt(v['mean'])} |")
    if report.unreachable_gold:
        lines += [
            "",
            "Gold passages no chunk of the index contains (check the dataset or the chunker): "
            + ", ".join(report.unreachable_gold),
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str, width: int = 90) -> str:
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def details_markdown(report: Report) -> str:
    cols = [
        "mrr",
        "key_fact_recall",
        "lead_key_fact_recall",
        "token_f1",
        "faithfulness",
        "citation_precision",
    ]
    lines = [
        "## Per question",
        "",
        "| id | type | first relevant | " + " | ".join(cols) + " | abstained | question |",
        "|---" * (len(cols) + 5) + "|",
    ]
    for r in report.questions:
        cells = " | ".join(fmt(r.scores.get(c)) for c in cols)
        lines.append(
            f"| {r.id} | {r.type} | {r.first_relevant or '–'} | {cells} | "
            f"{'yes' if r.abstained else 'no'} | {_cell(r.question)} |"
        )
    return "\n".join(lines) + "\n"


def write_report(report: Report, out_dir: Path, plots: bool = True) -> list[Path]:
    """Write report.json, report.md and the PNG plots; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.json", out_dir / "report.md"]
    written[0].write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False) + "\n")
    images: list[Path] = []
    if plots:
        from eval.plots import plot_report

        images = plot_report(report, out_dir)
    pictures = ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in images] + [""]
    body = [summary_markdown(report), *(["\n".join(pictures)] if images else [])]
    body += [details_markdown(report), DEFINITIONS]
    written[1].write_text("\n".join(body))
    return written + images


def load_report(path: Path) -> dict[str, Any]:
    """A report.json, given as the file or the folder that holds it."""
    file = path / "report.json" if path.is_dir() else path
    try:
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read report {file}: {exc}") from exc
    if not isinstance(data, dict) or "summary" not in data or "questions" not in data:
        raise BadInput(f"{file} is not a report.json written by `cnai eval`")
    return data
