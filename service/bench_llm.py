"""Time to first token and tokens/s of the local model over dev questions.

    python -m service.bench_llm --index var/index-cnai --questions 10 [--threads 2]

Each question goes through the whole local path (retrieve, prompt, generate, verify). Reported
per question and as medians: model load, prompt tokens, time to the first generated token
(prefill included), decoding tokens/s, time to the first verified sentence and the total.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.engine import Engine
from service.llm import GenerationStats, LocalLLM
from service.settings import ServiceSettings


def measure(
    index: Path,
    dataset: Path,
    questions: int = 10,
    threads: int | None = None,
    k: int = 5,
    say: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Medians over ``questions`` answerable dev questions, as ``cnai bench`` rows (llm section)."""
    overrides = {"index": index} | ({"threads": threads} if threads else {})
    settings = ServiceSettings(**overrides)
    engine = Engine(settings)
    llm = engine.llm("local")
    assert isinstance(llm, LocalLLM)
    start = time.perf_counter()
    llm.load()
    load_s = time.perf_counter() - start

    lines = [json.loads(x) for x in dataset.read_text().splitlines() if x.strip()]
    asked = [q["question"] for q in lines if q.get("answerable", True)][:questions]
    rows = []
    say(f"model loaded in {load_s:.1f} s; torch threads {settings.threads}")
    say("prompt  ttft_s  tok/s  tokens  first_sentence_s  total_s  kept  question")
    for question in asked:
        stats = GenerationStats()
        qvec = engine.embedder.embed_query(question)
        hits = engine.retriever.search(question, k, None, qvec)
        t0 = time.perf_counter()
        first_text = None
        answer = None
        for event in engine.generative.stream(llm, question, qvec, hits, stats=stats):
            if isinstance(event, str):
                first_text = first_text or time.perf_counter() - t0
            else:
                answer = event
        total = time.perf_counter() - t0
        if stats.first_token_s is None or answer is None:
            say(f"{'-':>6}  (abstained before generation)  {question[:60]}")
            continue
        kept = "fallback" if answer.fallback else f"{len(answer.sentences)}/-{answer.dropped}"
        rows.append((stats.first_token_s, stats.tokens_per_s, total, first_text or total))
        say(
            f"{stats.prompt_tokens:>6}  {stats.first_token_s:6.2f}  {stats.tokens_per_s:5.1f}  "
            f"{stats.new_tokens:>6}  {first_text or 0:16.2f}  {total:7.2f}  {kept:>8}  "
            f"{question[:60]}"
        )
    s = "llm (local model)"
    out = [_row(s, "model load", load_s, "s")]
    if rows:
        ttft, tps, total, first = (statistics.median(col) for col in zip(*rows, strict=True))
        say(
            f"median over {len(rows)}: time to first token {ttft:.2f} s, {tps:.1f} tokens/s, "
            f"first verified sentence {first:.2f} s, total {total:.2f} s"
        )
        out += [
            _row(s, f"time to first token, median of {len(rows)}", ttft, "s"),
            _row(s, "decoding speed, median", tps, "tokens/s"),
            _row(s, "first verified sentence, median", first, "s"),
            _row(s, "whole answer, median", total, "s"),
        ]
    return out


def _row(section: str, figure: str, value: float, unit: str) -> dict[str, Any]:
    # The bench row of issue 17; no baseline: nothing else here generates text to compare with.
    return {
        "section": section,
        "figure": figure,
        "value": round(value, 3),
        "unit": unit,
        "baseline": "",
        "baseline_value": None,
        "ratio": None,
        "target": "",
        "met": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("var/index-cnai"))
    parser.add_argument("--dataset", type=Path, default=Path("eval/datasets/cnai_dev.jsonl"))
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch threads [CNAI_THREADS]")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    measure(args.index, args.dataset, args.questions, args.threads, args.k)


if __name__ == "__main__":
    main()
