"""``cnai bench``: run the chosen sections, then write bench.json and bench.md side by side.

Sections run one after another in this process (the API under test is its own process), so the
figures of one run share one machine state; each row carries its own baseline from that run.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.bench.rows import Row, normalise, row

SECTIONS = ("serving", "throughput", "load", "memory", "scaling", "ingestion", "llm")
Say = Callable[[str], None]


@dataclass
class BenchConfig:
    index: Path
    out: Path
    full_index: Path | None = None
    sections: Sequence[str] = SECTIONS
    dataset: Path = Path("eval/datasets/cnai_dev.jsonl")
    corpus: Path | None = None  # folder the indexes were built from (its parent holds doc ids)
    requests: int = 100
    seconds: float = 8.0
    workers: int = 2
    load_seconds: float = 60.0  # the load section: the 60 s at 32 clients
    load_clients: int = 32
    factors: Sequence[int] = (1, 10, 40)
    llm_questions: int = 5
    threads: int = 2
    langchain_full: bool = False  # build the LangChain baseline over the full index too (slow)
    notes: list[str] = field(default_factory=list)


def parse_sections(text: str) -> list[str]:
    """``serving,memory`` -> the sections in suite order; unknown names are one clear error."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown or not names:
        raise ValueError(
            f"unknown bench section(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {','.join(SECTIONS)}"
        )
    return [s for s in SECTIONS if s in names]


def validate(cfg: BenchConfig) -> None:
    """Fail before any section runs: a bad path found after a 20-minute section wastes it."""
    for name, folder in (("--index", cfg.index), ("--full-index", cfg.full_index)):
        if folder is not None and not (folder / "CURRENT").is_file():
            raise ValueError(
                f"{name} {folder} holds no index; build one with: cnai ingest PATH --index {folder}"
            )
    if not cfg.dataset.is_file():
        raise ValueError(f"dataset {cfg.dataset} not found; pass --dataset FILE.jsonl")
    if cfg.corpus is not None and not cfg.corpus.is_dir():
        raise ValueError(
            f"corpus {cfg.corpus} is not a folder; pass the shared corpus with --corpus"
        )
    if "ingestion" in cfg.sections and cfg.corpus is None:
        raise ValueError("the ingestion section needs --corpus FOLDER (the documents to index)")
    if cfg.requests < 5 or cfg.seconds <= 0 or cfg.workers < 1 or cfg.threads < 1:
        raise ValueError("--requests must be >= 5, --seconds > 0, --workers and --threads >= 1")
    if not 0 < cfg.load_seconds <= 3600 or not 1 <= cfg.load_clients <= 1024:
        raise ValueError("--load-seconds must be in (0, 3600] and --load-clients in [1, 1024]")


def _roots(cfg: BenchConfig) -> list[Path] | None:
    """Where the LangChain baseline finds an index's documents: doc ids start with the
    ingested folder's name, so its parent and the parent of that are both candidates."""
    if cfg.corpus is None:
        return None
    return [cfg.corpus.resolve().parent, cfg.corpus.resolve()]


def run_section(name: str, cfg: BenchConfig, say: Say) -> list[Row]:
    from eval.bench import serving

    questions = serving.questions_of(cfg.dataset)
    if name == "serving":
        from ingest.embed import Embedder
        from ingest.store import load_index

        rows: list[Row] = []
        for label, folder in (("cnai index", cfg.index), ("full index", cfg.full_index)):
            if folder is None:
                continue
            embedder = Embedder(load_index(folder).manifest.model, threads=1)
            roots = _roots(cfg) if folder == cfg.index or cfg.langchain_full else None
            rows += serving.latency(folder, label, questions, embedder, roots, cfg.requests, say)
        return rows
    if name == "throughput":
        return serving.throughput(cfg.index, questions, cfg.workers, cfg.seconds, say=say)
    if name == "load":
        from eval.bench.load import load

        return load(cfg.index, questions, cfg.load_clients, cfg.load_seconds, cfg.workers, say=say)
    if name == "memory":
        return serving.memory(cfg.full_index or cfg.index, questions, say=say)
    if name == "scaling":
        from eval.bench.scaling import scaling
        from ingest.embed import Embedder
        from ingest.store import load_index

        folder = cfg.full_index or cfg.index
        embedder = Embedder(load_index(folder).manifest.model, threads=1)
        vectors = serving.query_vectors(embedder, questions[:100])
        return scaling(folder, vectors, cfg.factors, say=say)
    if name == "ingestion":
        try:
            module = importlib.import_module("eval.bench.ingestion")
        except ImportError:
            return [row("ingestion", "not available in this build", None, "")]
        assert cfg.corpus is not None
        result = module.run(cfg.corpus, cfg.out / "ingestion-work", cfg.threads, say)
        return normalise("ingestion", result)
    if name == "llm":
        from service.bench_llm import measure

        return measure(cfg.index, cfg.dataset, cfg.llm_questions, cfg.threads, say=say)
    raise ValueError(f"unknown section {name!r}")


def run(cfg: BenchConfig, say: Say = print) -> dict[str, Any]:
    validate(cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows: list[Row] = []
    seconds: dict[str, float] = {}
    for name in cfg.sections:
        say(f"section {name}")
        begin = time.perf_counter()
        rows += run_section(name, cfg, say)
        seconds[name] = round(time.perf_counter() - begin, 1)
        write(cfg, started, rows, seconds)  # a later failure keeps the sections done so far
    return write(cfg, started, rows, seconds)


def write(
    cfg: BenchConfig, started: str, rows: list[Row], seconds: dict[str, float]
) -> dict[str, Any]:
    report = {
        "started": started,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in cfg.__dict__.items()},
        "section_seconds": seconds,
        "rows": rows,
    }
    (cfg.out / "bench.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (cfg.out / "bench.md").write_text(markdown(report))
    return report


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# cnai bench",
        "",
        f"Started {report['started']} on {report['machine']['cpus']} CPUs "
        f"(load average {', '.join(f'{x:.1f}' for x in report['machine']['load_average'])}). "
        "Every ratio is value / baseline, both measured in this run.",
        "",
    ]
    section = None
    for r in report["rows"]:
        if r["section"] != section:
            section = r["section"]
            lines += [
                "",
                f"## {section}",
                "",
                "| figure | value | unit | baseline | baseline value | ratio | target | met |",
                "|---|---|---|---|---|---|---|---|",
            ]
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append(
            f"| {r['figure']} | {_num(r['value'])} | {r['unit']} | {r['baseline']} | "
            f"{_num(r['baseline_value'])} | {_num(r['ratio'])} | {r['target']} | {met} |"
        )
    return "\n".join(lines) + "\n"
