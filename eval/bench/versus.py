"""This checkout against another (e.g. main) in one run: cold start and /v1/search throughput.

The machine is shared and its figures drift by the minute, so the two code trees take turns:
each round starts this tree's API, then the other's, at every worker count. Reported are the
medians over rounds and their ratio. Each tree serves its own index (an older checkout may not
read this one's format). Usage:

    python -m eval.bench.versus --baseline-code ../main --baseline-index IDX_OLD --index IDX \
        --rounds 2 --out var/bench-versus
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from eval.bench.server import Server, _children
from eval.bench.serving import CLIENTS, load_levels, questions_of

# Imports what `cnai serve` imports, loads the query embedder and then builds the engine, timing
# each (works on both trees).
_SPLIT = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
import service.cli, service.app
from ingest.store import load_index
from service.engine import Engine
from service.settings import ServiceSettings
settings = ServiceSettings(index=Path(sys.argv[1]))
model = load_index(settings.index).manifest.model
t1 = time.perf_counter()
try:
    from ingest.onnx_encoder import query_embedder
    embedder = query_embedder(model, settings.model_cache, 1)
except ImportError:
    from ingest.embed import Embedder
    embedder = Embedder(model, threads=1)
embedder.embed_query("warm up")
t2 = time.perf_counter()
Engine(settings, embedder)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def split(code: Path, index: Path) -> tuple[float, float, float]:
    """Seconds to import the service, load the query embedder, and build the engine."""
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run(
        [sys.executable, "-c", _SPLIT, str(index)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=code,
    ).stdout.split()
    imports, model, engine = (float(v) for v in out[-3:])
    return imports, model, engine


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its child processes (the API workers)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measure(
    code: Path, index: Path, workers: int, questions: list[str], clients: list[int], seconds: float
) -> dict[str, Any]:
    """Ready time, then per client level: req/s, errors, p50 ms and the server's CPU ms per
    request (on a shared machine req/s follows the load; CPU per request much less so)."""
    env = {"PYTHONPATH": str(code)}
    with Server(index.resolve(), workers=workers, env=env, cwd=code) as server:
        ready = server.ready_s
        assert server.proc is not None
        pid = server.proc.pid
        load_levels(server.url, questions, [4], min(2.0, seconds))  # warm-up
        levels: dict[int, list[float]] = {}
        for c in clients:
            before = cpu_seconds(pid)
            rps, errors, p50 = load_levels(server.url, questions, [c], seconds)[c]
            used = cpu_seconds(pid) - before
            done = rps * seconds
            levels[c] = [rps, errors, p50, 1000 * used / done if done else 0.0]
    return {"ready_s": ready, "levels": levels}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, required=True, help="index this checkout serves")
    p.add_argument("--baseline-code", type=Path, required=True, help="the other checkout")
    p.add_argument("--baseline-index", type=Path, required=True, help="index it serves")
    p.add_argument("--dataset", type=Path, default=Path("eval/datasets/cnai_dev.jsonl"))
    p.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    p.add_argument("--clients", default=",".join(map(str, CLIENTS)))
    p.add_argument("--seconds", type=float, default=6.0, help="seconds per client level")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    for folder in (args.index, args.baseline_index):
        if not (folder / "CURRENT").is_file():
            p.error(f"no index at {folder}")
    if not (args.baseline_code / "service").is_dir():
        p.error(f"{args.baseline_code} is not a checkout of this project")
    if args.rounds < 1 or args.seconds <= 0:
        p.error("--rounds must be at least 1 and --seconds positive")
    here = Path(__file__).resolve().parents[2]
    trees = {
        "this": (here, args.index),
        "baseline": (args.baseline_code.resolve(), args.baseline_index),
    }
    workers = [int(w) for w in args.workers.split(",")]
    clients = [int(c) for c in args.clients.split(",")]
    questions = questions_of(args.dataset)
    runs: dict[str, list[dict[str, Any]]] = {}
    for r in range(args.rounds):
        for name, (code, index) in trees.items():
            imports, model, engine = split(code, index)
            runs.setdefault(f"{name} split", []).append(
                {"imports_s": imports, "model_s": model, "engine_s": engine}
            )
            print(
                f"round {r + 1} {name}: imports {imports:.1f} s, query embedder {model:.1f} s, "
                f"engine {engine:.1f} s",
                flush=True,
            )
            for w in workers:
                got = measure(code, index, w, questions, clients, args.seconds)
                runs.setdefault(f"{name} {w}w", []).append(got)
                levels = got["levels"]
                assert isinstance(levels, dict)
                shown = ", ".join(
                    f"{c}: {v[0]:.1f} req/s ({v[1]} err, {v[3]:.1f} CPU ms/req)"
                    for c, v in levels.items()
                )
                print(
                    f"round {r + 1} {name} {w} worker(s): ready {got['ready_s']:.1f} s; {shown}",
                    flush=True,
                )
    load = os.getloadavg()
    report = {"runs": runs, "loadavg": load, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "versus.json").write_text(json.dumps(report, indent=2))
    lines = ["| figure | this checkout | baseline | ratio |", "|---|---|---|---|"]

    def med(key: str, field: str, client: int | None = None, at: int = 0) -> float:
        """Median over rounds of ``field`` (or of item ``at`` of one client level's figures)."""
        values = [x[field] if client is None else x[field][client][at] for x in runs[key]]
        return float(statistics.median(values))

    for part in ("imports_s", "model_s", "engine_s"):
        a, b = med("this split", part), med("baseline split", part)
        lines.append(f"| start-up: {part[:-2]} | {a:.2f} s | {b:.2f} s | {a / b:.2f}x |")
    for w in workers:
        a, b = med(f"this {w}w", "ready_s"), med(f"baseline {w}w", "ready_s")
        lines.append(
            f"| cold start to /readyz, {w} worker(s) | {a:.1f} s | {b:.1f} s | {a / b:.2f}x |"
        )
        for c in clients:
            a, b = med(f"this {w}w", "levels", c), med(f"baseline {w}w", "levels", c)
            errs = sum(x["levels"][c][1] for x in runs[f"this {w}w"])
            lines.append(
                f"| /v1/search req/s, {c} clients, {w} worker(s) | {a:.1f} ({errs} errors) | "
                f"{b:.1f} | {a / b:.2f}x |"
            )
            a, b = med(f"this {w}w", "levels", c, 3), med(f"baseline {w}w", "levels", c, 3)
            lines.append(
                f"| server CPU ms per request, {c} clients, {w} worker(s) | {a:.1f} | {b:.1f} | "
                f"{a / b:.2f}x |"
            )
    lines.append(
        f"\nMedians of {args.rounds} interleaved rounds; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}."
    )
    (args.out / "versus.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
