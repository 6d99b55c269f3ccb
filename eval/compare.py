"""Side by side: retrieval configurations, answer backends and the LangChain baseline.

Every configuration answers the same questions with one loaded embedder; each gets its own
report folder, and compare.md / compare.json / compare.png put the headline figures together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.baseline import LangChainBaseline, indexed_documents
from eval.dataset import load_questions
from eval.judge import Judge
from eval.plots import HEADLINE
from eval.report import fmt, write_report
from eval.run import Report, evaluate
from eval.runners import EngineRunner, Runner
from ingest.embed import Embedder
from ingest.settings import DEFAULT_MODEL
from service.answering.support import SupportScorer
from service.engine import Engine
from service.settings import ServiceSettings

COLUMNS = tuple(c for c in HEADLINE if not c.startswith("judge_"))  # a judge runs once, not per row
CHART = (
    "hit@1",
    "hit@5",
    "mrr",
    "ndcg@5",
    "key_fact_recall",
    "token_f1",
    "faithfulness",
    "abstention_recall",
)
BASELINE_NOTE = (
    "The LangChain baseline answers with the first sentences of its top passage and never "
    "abstains, so its faithfulness and citation precision are high by construction; compare "
    "it on retrieval, key facts and token F1."
)


@dataclass
class Config:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    mode: str | None = None


@dataclass
class Comparison:
    reports: list[Report] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def configurations(settings: ServiceSettings, modes: list[str]) -> list[Config]:
    """Each retrieval stage added in turn, then one row per answer backend."""
    defaults = ServiceSettings.model_fields
    depth = settings.rerank_depth or defaults["rerank_depth"].default
    diversity = settings.diversity or defaults["diversity"].default
    headings = settings.heading_weight or defaults["heading_weight"].default
    off = {"diversity": 0.0, "merge_neighbours": False, "heading_weight": 0.0}
    plain = {"rerank_depth": 0, **off}
    rerank = {"rerank_depth": depth, **off}
    titled = {**rerank, "heading_weight": headings}
    return [
        Config("dense only", {"sparse_weight": 0.0, **plain}),
        Config("BM25 only", {"dense_weight": 0.0, **plain}),
        Config("hybrid", plain),
        Config("hybrid + rerank", rerank),
        Config("+ heading match", titled),
        Config("+ diversity", {**titled, "diversity": diversity}),
        Config("+ neighbours joined", {**titled, "diversity": diversity, "merge_neighbours": True}),
        *(Config(f"mode {m}", {}, m) for m in modes),
    ]


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def run_compare(
    dataset: Path,
    engine: Engine,
    out_dir: Path,
    k: int = 5,
    modes: list[str] | None = None,
    docs_roots: list[Path] | None = None,
    progress: bool = True,
    judge: Judge | None = None,
    plots: bool = True,
    adapted: Engine | None = None,
    split: str = "all",
) -> Comparison:
    """Every configuration over ``engine``'s index and embedder, the same over ``adapted`` (an
    index built with a fine-tuned model, see ``cnai adapt``), then the LangChain baseline."""
    questions = load_questions(dataset, split)
    settings, embedder = engine.settings, engine.embedder
    scorer = SupportScorer(embedder)
    result = Comparison()

    def measure(runner: Runner) -> None:
        report = evaluate(questions, runner, scorer, k, progress, judge, str(dataset))
        report.split = split
        write_report(report, out_dir / slug(runner.name), plots=plots)
        result.reports.append(report)

    for config in configurations(settings, modes or []):
        variant = Engine(settings.model_copy(update=config.overrides), embedder)
        measure(EngineRunner(variant, config.name, config.mode))
    if adapted:
        measure(EngineRunner(adapted, "+ adapted model"))
        result.notes.append(f"'+ adapted model' embeds with {adapted.version.manifest.model}.")

    files, missing, changed = indexed_documents(engine.version, docs_roots or [])
    if not files:
        result.notes.append(
            "LangChain baseline skipped: none of the index's documents is under "
            + (", ".join(map(str, docs_roots or [])) or "any --docs-root")
            + "; pass the folder that holds them with --docs-root."
        )
    else:
        if missing:
            result.notes.append(f"Baseline built without {len(missing)} missing documents.")
        if changed:
            result.notes.append(f"{len(changed)} documents changed since the index was built.")
        base_embedder = embedder if embedder.model_id == DEFAULT_MODEL else Embedder()
        measure(LangChainBaseline(files, base_embedder, progress))
        result.notes.append(BASELINE_NOTE)
    write_comparison(result, out_dir, dataset, plots)
    return result


def _row(report: Report) -> dict[str, Any]:
    total = report.summary.get("latency_ms", {}).get("total", {})
    return {
        "configuration": report.name,
        **{c: report.summary.get(c) for c in COLUMNS},
        "p50_total_ms": total.get("p50"),
        "report": slug(report.name) + "/report.json",
        "config": report.config,
    }


def comparison_markdown(result: Comparison, dataset: Path) -> str:
    n = result.reports[0].summary["n"] if result.reports else 0
    cols = [*COLUMNS, "p50_total_ms"]
    lines = [
        f"# Comparison: {dataset.name}",
        "",
        f"{n} questions, the same for every configuration; each configuration's full report "
        "is in its own folder.",
        "",
        "| configuration | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for report in result.reports:
        row = _row(report)
        lines.append(f"| {report.name} | " + " | ".join(fmt(row[c]) for c in cols) + " |")
    if result.notes:
        lines += [""] + [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def write_comparison(result: Comparison, out_dir: Path, dataset: Path, plots: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "dataset": str(dataset),
        "configurations": [_row(r) for r in result.reports],
        "notes": result.notes,
    }
    (out_dir / "compare.json").write_text(json.dumps(data, indent=2) + "\n")
    markdown = comparison_markdown(result, dataset)
    if plots and result.reports:
        from eval.plots import grouped_bars

        grouped_bars(
            list(CHART),
            {r.name: [r.summary.get(c) for c in CHART] for r in result.reports},
            f"Configurations side by side: {dataset.name}",
            out_dir / "compare.png",
        )
        markdown += "\n![compare](compare.png)\n"
    (out_dir / "compare.md").write_text(markdown)
