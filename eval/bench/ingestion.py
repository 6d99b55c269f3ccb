"""Ingestion benchmark: a full ``cnai ingest`` against bare ``encode`` of the same corpus text.

Both sides run in this process with one loaded model and the same torch threads, one after the
other, so the ratio compares like with like (model loading is left out of both). The corpus is
copied under ``work`` first: the changed re-run edits one file of the copy, never the original.

    python -m eval.bench.ingestion --corpus ../shared/corpus --out var/bench/ingestion.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.embed import Embedder
from ingest.errors import BadDocument
from ingest.loaders import load_document
from ingest.pipeline import discover, ingest
from ingest.settings import DEFAULT_MODEL

WINDOW_TOKENS = 250
THROUGHPUT_TARGET = 0.85  # ingestion at least this share of bare encode throughput
RERUN_TARGET = 0.05  # an unchanged re-run at most this share of the first run's time
# Appended to one copied file for the changed re-run; our own words, not corpus text.
_EDIT = "\n\nBenchmark note: this paragraph was added to force one document to be re-embedded.\n"

Report = Callable[[str], None]


def windows(embedder: Embedder, texts: list[str], size: int = WINDOW_TOKENS) -> list[str]:
    """Cut each text into pieces of ``size`` tokens, on token boundaries of the original text."""
    out: list[str] = []
    for text in texts:
        spans = embedder.model.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True
        )
        offsets = spans["offset_mapping"]
        for start in range(0, len(offsets), size):
            piece = offsets[start : start + size]
            out.append(text[piece[0][0] : piece[-1][1]])
    return out


def corpus_text(corpus: Path) -> list[str]:
    """The text of every document the pipeline would index, after the same loading."""
    texts = []
    for doc_id, file in discover([corpus]).items():
        try:
            texts.append(load_document(file, doc_id).text)
        except BadDocument:
            continue
    return [t for t in texts if t.strip()]


def _figure(
    name: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    target: str | None,
    met: bool | None,
) -> dict[str, Any]:
    ratio = value / baseline_value if baseline_value else None
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": round(baseline_value, 3),
        "ratio": round(ratio, 4) if ratio is not None else None,
        "target": target,
        "met": met,
    }


def run(corpus: Path, work: Path, threads: int, progress: Report | None = None) -> dict[str, Any]:
    """Time bare encode, a first ingest, an unchanged re-run and a re-run after one edit."""
    say = progress or (lambda _msg: None)
    corpus = corpus.expanduser()
    if not corpus.is_dir():
        raise ValueError(f"corpus {corpus} is not a folder; pass the folder of documents to index")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    work.mkdir(parents=True, exist_ok=True)
    copy, index = work / corpus.resolve().name, work / "index"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    shutil.copytree(corpus, copy)

    embedder = Embedder(DEFAULT_MODEL, threads=threads)
    texts = windows(embedder, corpus_text(copy))
    if not texts:
        raise ValueError(f"corpus {corpus} holds no indexable text")
    tokens = sum(embedder.count_tokens(t) for t in texts)
    embedder.embed(texts[:8])  # warm up kernels and caches for both sides alike

    say(f"bare encode of {len(texts):,} windows ({tokens:,} tokens)")
    start = time.perf_counter()
    embedder.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    bare = time.perf_counter() - start

    def timed_ingest(label: str) -> tuple[float, Any]:
        say(label)
        begin = time.perf_counter()
        report = ingest([copy], index, embedder, show_progress=False)
        return time.perf_counter() - begin, report

    first, report = timed_ingest("first ingest")
    unchanged, again = timed_ingest("unchanged re-run")
    edited = next(iter(discover([copy]).values()))
    with edited.open("a", encoding="utf-8") as handle:
        handle.write(_EDIT)
    changed, after = timed_ingest("re-run after one file changed")

    rate, bare_rate = tokens / first, tokens / bare
    return {
        "section": "ingestion",
        "figures": [
            _figure(
                "ingestion throughput",
                rate,
                "tokens/s",
                f"bare SentenceTransformer.encode, {WINDOW_TOKENS}-token windows",
                bare_rate,
                f">= {THROUGHPUT_TARGET}",
                rate / bare_rate >= THROUGHPUT_TARGET,
            ),
            _figure(
                "unchanged re-run",
                unchanged,
                "s",
                "first ingest",
                first,
                f"<= {RERUN_TARGET}",
                unchanged / first <= RERUN_TARGET,
            ),
            _figure(
                "re-run after one file changed",
                changed,
                "s",
                "first ingest",
                first,
                None,
                None,
            ),
        ],
        "notes": [
            f"corpus {corpus}: {len(report.added)} documents, {report.chunks:,} chunks, "
            f"{tokens:,} tokens in {len(texts):,} windows; torch threads {threads}",
            f"bare encode {bare:.1f} s, first ingest {first:.1f} s (model load excluded)",
            f"unchanged re-run: up to date = {again.up_to_date}; after editing "
            f"{edited.relative_to(work)}: {len(after.changed)} changed, {after.chunks:,} chunks",
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="folder of documents")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--work", type=Path, default=Path("var/bench/ingestion"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads for both sides")
    args = parser.parse_args(argv)
    try:
        result = run(args.corpus, args.work, args.threads, progress=print)
    except ValueError as exc:
        parser.error(str(exc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for fig in result["figures"]:
        print(
            f"{fig['name']}: {fig['value']} {fig['unit']} vs {fig['baseline_value']} "
            f"(ratio {fig['ratio']}, target {fig['target']}, met {fig['met']})"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
