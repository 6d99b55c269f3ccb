"""Latency benchmark: /v1/search and /v1/ask on a live API, against a bare query embedding.

The baseline (one query embedding with the same model on one thread, in this process) is timed
interleaved with the requests, so machine noise hits both sides alike; we report ratios.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from eval.dataset import load_questions
from eval.metrics import percentile
from ingest.embed import Embedder
from ingest.settings import DEFAULT_MODEL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with code {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the API at {url} was not ready after {seconds:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=Path("var/index-cnai"))
    parser.add_argument("--dataset", type=Path, default=Path("eval/datasets/cnai_dev.jsonl"))
    parser.add_argument("--requests", type=int, default=120, help="Requests per endpoint.")
    args = parser.parse_args(argv)

    questions = [q.question for q in load_questions(args.dataset)]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, CNAI_INDEX=str(args.index), CNAI_PORT=str(port))
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=env)
    try:
        _wait_ready(url, proc)
        embedder = Embedder(DEFAULT_MODEL, threads=1)
        rows = {"bare embedding": [], "/v1/search": [], "/v1/ask": []}  # type: dict[str, list[float]]
        with httpx.Client(base_url=url, timeout=30) as client:
            for q in questions[:5]:  # warm-up
                client.post("/v1/ask", json={"question": q})
            for i in range(args.requests):
                q = questions[i % len(questions)]
                for name in rows:
                    start = time.perf_counter()
                    if name == "bare embedding":
                        embedder.embed_query(q)
                    else:
                        key = "query" if name == "/v1/search" else "question"
                        client.post(name, json={key: q, "k": 5}).raise_for_status()
                    rows[name].append((time.perf_counter() - start) * 1000)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    base = percentile(rows["bare embedding"], 0.5) or 1.0
    print(f"\n{args.requests} requests each, interleaved; index {args.index}\n")
    print("| what | p50 ms | p95 ms | p50 / bare embedding |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        p50, p95 = percentile(values, 0.5) or 0.0, percentile(values, 0.95) or 0.0
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / base:.2f}x |")


if __name__ == "__main__":
    main()
