"""Ingestion benchmark: ``cnai ingest`` against bare ``encode`` of the same corpus text.

Both sides run in this process with one loaded model and the same torch threads, one after the
other, so the ratio compares like with like (model loading is left out of both). The corpus
folders are copied under ``work`` first: the changed re-run edits one file of the copy, never
the original.

    python -m eval.bench.ingestion --corpus ../shared/corpus/cnai --out var/bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.embed import Embedder
from ingest.errors import BadDocument
from ingest.loaders import load_document
from ingest.pipeline import IngestReport, discover, ingest
from ingest.settings import DEFAULT_MODEL
from ingest.store import POOLED, STANDALONE

SECTION = "ingestion"
WINDOW_TOKENS = 250  # the baseline: the corpus text cut into windows of this many tokens
THROUGHPUT_TARGET = 0.85  # ingestion at least this share of bare encode throughput
RERUN_TARGET = 0.05  # an unchanged re-run at most this share of the first run's time
# Appended to one copied file for the changed re-run; our own words, not corpus text.
_EDIT = "\n\nBenchmark note: this paragraph was added so that one document is embedded again.\n"

Say = Callable[[str], None]


def windows(embedder: Embedder, texts: list[str], size: int = WINDOW_TOKENS) -> list[str]:
    """Cut each text into pieces of ``size`` model tokens, on the original text's characters."""
    if size < 1:
        raise ValueError(f"window size must be at least 1 token, got {size}")
    out: list[str] = []
    tokenizer = embedder.model.tokenizer
    for text in texts:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
        for start in range(0, len(offsets), size):
            piece = offsets[start : start + size]
            out.append(text[piece[0][0] : piece[-1][1]])
    return out


def corpus_text(folders: list[Path]) -> list[str]:
    """The text of every document the pipeline would index, after the same loading."""
    texts = []
    for doc_id, file in discover(folders).items():
        try:
            texts.append(load_document(file, doc_id).text)
        except BadDocument:
            continue
    return [t for t in texts if t.strip()]


def row(
    figure: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    ratio: float | None,
    target: str | None = None,
    met: bool | None = None,
) -> dict[str, Any]:
    """One figure beside its baseline, in the bench row format every section shares."""
    return {
        "section": SECTION,
        "figure": figure,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 3),
        "ratio": None if ratio is None else round(ratio, 4),
        "target": target,
        "met": met,
    }


def _copy(folders: list[Path], work: Path) -> list[Path]:
    names = [f.resolve().name for f in folders]
    if len(set(names)) != len(names):
        raise ValueError(
            f"corpus folders need distinct names (document ids start with them): {names}"
        )
    copies = []
    for folder, name in zip(folders, names, strict=True):
        copy = work / "corpus" / name
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(folder, copy, symlinks=True)
        copies.append(copy)
    return copies


def run(
    corpora: list[Path],
    work: Path,
    threads: int | None = None,
    before: bool = False,
    say: Say | None = None,
    embedder: Embedder | None = None,
    repeat: int = 1,
) -> list[dict[str, Any]]:
    """Time bare encode, a first ingest, an unchanged re-run and a re-run after one edit.

    With ``before``, also a first ingest that embeds every sentence again on its own (how
    ingestion worked before sentence vectors were pooled), against the same bare encode.
    Each first-run figure is the fastest of ``repeat`` turns.
    """
    say = say or (lambda _msg: None)
    if not corpora:
        raise ValueError("give at least one corpus folder")
    for folder in corpora:
        if not folder.expanduser().is_dir():
            raise ValueError(f"corpus {folder} is not a folder; pass folders of documents")
    threads = threads or max(1, os.cpu_count() or 1)
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    work.mkdir(parents=True, exist_ok=True)
    copies = _copy([f.expanduser() for f in corpora], work)
    embedder = embedder or Embedder(DEFAULT_MODEL, threads=threads)

    texts = windows(embedder, corpus_text(copies))
    if not texts:
        raise ValueError(f"corpus {', '.join(map(str, corpora))} holds no indexable text")
    tokens = sum(embedder.count_tokens(t) for t in texts)
    embedder.model.encode(texts[:32], batch_size=32)  # warm up kernels and caches for all sides
    say(f"bare encode of {len(texts):,} windows of <= {WINDOW_TOKENS} tokens ({tokens:,} tokens)")

    def encode() -> float:
        begin = time.perf_counter()
        embedder.model.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
        return time.perf_counter() - begin

    def timed(label: str, index: Path, method: str = POOLED) -> tuple[float, IngestReport]:
        begin = time.perf_counter()
        report = ingest(copies, index, embedder, show_progress=False, sentence_vectors=method)
        took = time.perf_counter() - begin
        say(f"{label}: {took:.1f} s, {report.embedded:,} chunks embedded")
        return took, report

    def fresh(label: str, index: Path, method: str = POOLED) -> tuple[float, IngestReport]:
        shutil.rmtree(index, ignore_errors=True)
        return timed(label, index, method)

    # Bare encode and a first ingest take turns, each ``repeat`` times, and the fastest of each
    # counts: on a shared machine the least disturbed run is the best estimate of the cost.
    index, old = work / "index", work / "index-standalone"
    bares, firsts, befores = [], [], []
    for turn in range(1, repeat + 1):
        bares.append(encode())
        say(f"bare encode {turn}/{repeat}: {bares[-1]:.1f} s")
        took, report = fresh(f"first ingest {turn}/{repeat}", index)
        firsts.append(took)
        if before:
            befores.append(
                fresh(f"first ingest, sentences embedded again {turn}/{repeat}", old, STANDALONE)[0]
            )
    bare, first = min(bares), min(firsts)
    unchanged, again = timed("unchanged re-run", index)
    if not again.up_to_date:
        raise RuntimeError("an unchanged re-run found changes; the benchmark cannot go on")
    doc_id = (report.added or report.unchanged)[0]
    edited = discover(copies)[doc_id]
    with edited.open("a", encoding="utf-8") as handle:
        handle.write(_EDIT)
    changed, after = timed(f"re-run after changing {doc_id}", index)

    baseline = (
        f"bare SentenceTransformer.encode of the corpus text in {WINDOW_TOKENS}-token windows"
    )
    rate = f"tokens/s ({tokens:,} corpus tokens, {threads} threads)"
    rows = [
        row(
            "ingestion throughput",
            tokens / first,
            rate,
            baseline,
            tokens / bare,
            bare / first,
            f">= {THROUGHPUT_TARGET}",
            bare / first >= THROUGHPUT_TARGET,
        ),
        row(
            "unchanged re-run",
            unchanged,
            "s",
            "first ingest",
            first,
            unchanged / first,
            f"<= {RERUN_TARGET}",
            unchanged / first <= RERUN_TARGET,
        ),
        row(
            f"re-run after one file changed ({after.embedded} chunks embedded)",
            changed,
            "s",
            "first ingest",
            first,
            changed / first,
        ),
    ]
    if before:
        took = min(befores)
        rows.append(
            row(
                "ingestion throughput, sentences embedded again (before)",
                tokens / took,
                rate,
                baseline,
                tokens / bare,
                bare / took,
                f">= {THROUGHPUT_TARGET}",
                bare / took >= THROUGHPUT_TARGET,
            )
        )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| figure | value | unit | baseline | baseline value | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r["figure"], r["value"], r["unit"], r["baseline"], r["baseline_value"]]
        cells += [r["ratio"], r["target"] or "", "" if r["met"] is None else r["met"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _say(message: str) -> None:
    print(message, flush=True)  # a log file shows each step as it ends


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, nargs="+", required=True, help="corpus folders")
    parser.add_argument("--out", type=Path, required=True, help="folder for ingestion.json/.md")
    parser.add_argument("--work", type=Path, default=Path("var/bench/ingestion-work"))
    parser.add_argument("--threads", type=int, default=None, help="torch threads [all cores]")
    parser.add_argument(
        "--before", action="store_true", help="also time ingestion with sentences embedded again"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="turns of bare encode and first ingest; fastest counts",
    )
    args = parser.parse_args(argv)
    try:
        rows = run(args.corpus, args.work, args.threads, args.before, say=_say, repeat=args.repeat)
    except ValueError as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingestion.json").write_text(json.dumps(rows, indent=2) + "\n")
    (args.out / "ingestion.md").write_text(markdown(rows))
    print(markdown(rows), end="")
    print(f"wrote {args.out / 'ingestion.json'} and ingestion.md")


if __name__ == "__main__":
    main()
