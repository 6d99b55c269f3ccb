"""Profiles of /v1/search and /v1/ask with pyinstrument, in-process over one loaded engine.

    python -m eval.bench.profile --index /work/idx/full --out var/bench/profile

In-process, so the profile shows our code and the model rather than the event loop; the HTTP
layer's own share is what `cnai bench` latency shows beyond this. Writes one text and one HTML
report per endpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pyinstrument import Profiler

from eval.bench.serving import questions_of
from service.engine import Engine
from service.schemas import AskRequest, SearchRequest
from service.settings import ServiceSettings


def profile(index: Path, dataset: Path, out: Path, requests: int = 60) -> dict[str, Path]:
    engine = Engine(ServiceSettings(index=index))
    questions = questions_of(dataset)
    for q in questions[:5]:  # warm-up
        engine.ask(AskRequest(question=q))
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    calls = {
        "search": lambda q: engine.search(SearchRequest(query=q, k=5)),
        "ask": lambda q: engine.ask(AskRequest(question=q, k=5)),
    }
    for name, call in calls.items():
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for i in range(requests):
            call(questions[i % len(questions)])
        profiler.stop()
        (out / f"{name}.txt").write_text(profiler.output_text(unicode=True, show_all=False))
        (out / f"{name}.html").write_text(profiler.output_html())
        written[name] = out / f"{name}.txt"
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--dataset", type=Path, default=Path("eval/datasets/cnai_dev.jsonl"))
    parser.add_argument("--out", type=Path, default=Path("var/bench/profile"))
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    for name, path in profile(args.index, args.dataset, args.out, args.requests).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
