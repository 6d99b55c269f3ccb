"""Serving sections of ``cnai bench``: latency, throughput, memory and start-up of a live API.

Every request goes over HTTP to a real ``cnai serve`` on a free loopback port. Each figure's
baseline is measured in the same run, interleaved where it can be, so a busy machine slows both
sides alike and the ratios stay meaningful even when the milliseconds do not.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import numpy as np

from eval.bench.load import RouteStats, drive, search_only
from eval.bench.rows import Row, row
from eval.bench.server import Server
from eval.metrics import percentile
from ingest.embed import Embedder
from ingest.store import load_index

Say = Callable[[str], None]

SEARCH_VS_EMBED = 2.0  # /v1/search p50 at most this many bare query embeddings
SEARCH_VS_LANGCHAIN = 0.5  # ... and at most half the LangChain retriever's p50
ASK_VS_EMBED = 4.0  # /v1/ask (extractive) p50 at most this many bare query embeddings
MIN_RPS_AT_16 = 100.0
MAX_RSS_BYTES = 1 << 30
MAX_READY_S = 10.0
CLIENTS = (1, 4, 16, 64)


def _quiet(_: str) -> None:
    return None


def _p(values: Sequence[float], q: float) -> float:
    return percentile(values, q) or 0.0


def langchain_retriever(index: Path, corpus_roots: list[Path], embedder: Embedder) -> object:
    """The textbook retriever over the index's own documents (eval/baseline.py)."""
    from eval.baseline import LangChainBaseline, indexed_documents

    files, missing, _ = indexed_documents(load_index(index), corpus_roots)
    if not files:
        roots = ", ".join(map(str, corpus_roots))
        raise ValueError(
            f"none of the documents of index {index} were found under {roots}; pass the folder "
            "the index was built from with --corpus"
        )
    return LangChainBaseline(files, embedder, progress=False)


def latency(
    index: Path,
    label: str,
    questions: list[str],
    embedder: Embedder,
    corpus_roots: list[Path] | None,
    requests: int = 100,
    say: Say = _quiet,
) -> list[Row]:
    """p50/p95/p99 of /v1/search and /v1/ask against a bare query embedding and, when the
    corpus is at hand, the LangChain retriever, all four timed in turn for each question."""
    if requests < 5:
        raise ValueError(f"requests must be at least 5, got {requests}")
    lc = None
    if corpus_roots:
        say(f"latency {label}: building the LangChain retriever (1000/200, FAISS)")
        lc = langchain_retriever(index, corpus_roots, embedder)
    times: dict[str, list[float]] = {"embed": [], "search": [], "ask": [], "langchain": []}
    say(f"latency {label}: starting the API")
    with Server(index) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        for q in questions[:5]:  # warm-up: first requests load lazy state on both sides
            client.post("/v1/ask", json={"question": q}).raise_for_status()
            embedder.embed_query(q)
        for i in range(requests):
            q = questions[i % len(questions)]
            start = time.perf_counter()
            embedder.embed_query(q)
            times["embed"].append(time.perf_counter() - start)
            start = time.perf_counter()
            client.post("/v1/search", json={"query": q, "k": 5}).raise_for_status()
            times["search"].append(time.perf_counter() - start)
            start = time.perf_counter()
            client.post("/v1/ask", json={"question": q, "k": 5}).raise_for_status()
            times["ask"].append(time.perf_counter() - start)
            if lc is not None:
                start = time.perf_counter()
                lc.run(q, 5)  # type: ignore[attr-defined]
                times["langchain"].append(time.perf_counter() - start)
            if i % 20 == 19:
                say(f"latency {label}: {i + 1}/{requests}")
    ms = {k: [v * 1000 for v in vs] for k, vs in times.items()}
    embed50 = _p(ms["embed"], 0.5)
    s = f"latency {label}"
    base = "one bare query embedding p50, same model, 1 torch thread, this process"
    rows = [
        row(s, "bare query embedding p50", embed50, "ms"),
        row(s, "bare query embedding p95", _p(ms["embed"], 0.95), "ms"),
    ]
    for name, key, limit in (
        ("/v1/search", "search", SEARCH_VS_EMBED),
        ("/v1/ask", "ask", ASK_VS_EMBED),
    ):
        p50 = _p(ms[key], 0.5)
        rows.append(
            row(
                s, f"{name} p50", p50, "ms", base, embed50, f"<= {limit:g}x", p50 <= limit * embed50
            )
        )
        rows.append(row(s, f"{name} p95", _p(ms[key], 0.95), "ms", base, _p(ms["embed"], 0.95)))
        rows.append(row(s, f"{name} p99", _p(ms[key], 0.99), "ms", base, _p(ms["embed"], 0.99)))
    if ms["langchain"]:
        lc50, search50 = _p(ms["langchain"], 0.5), _p(ms["search"], 0.5)
        lc_base = "LangChain retriever p50 (1000/200 chunks, FAISS flat, same model, in-process)"
        rows.append(row(s, "LangChain retriever p50", lc50, "ms", base, embed50))
        rows.append(
            row(
                s,
                "/v1/search p50 vs LangChain",
                search50,
                "ms",
                lc_base,
                lc50,
                f"<= {SEARCH_VS_LANGCHAIN:g}x",
                search50 <= SEARCH_VS_LANGCHAIN * lc50,
            )
        )
    return rows


async def _load(
    url: str, clients: int, seconds: float, queries: list[str]
) -> tuple[int, int, list[float], float]:
    stats, elapsed = await drive(url, clients, seconds, search_only(queries))
    r = stats.get("/v1/search", RouteStats())
    return r.ok, r.errors, r.latencies_ms, elapsed


def load_levels(
    url: str, queries: list[str], clients: Sequence[int], seconds: float
) -> dict[int, tuple[float, int, float]]:
    """req/s, errors and p50 ms of /v1/search at each number of concurrent clients."""
    out = {}
    for c in clients:
        ok, errors, lat, elapsed = asyncio.run(_load(url, c, seconds, queries))
        out[c] = (ok / elapsed, errors, _p(lat, 0.5))
    return out


def throughput(
    index: Path,
    questions: list[str],
    workers: int = 2,
    seconds: float = 8.0,
    clients: Sequence[int] = CLIENTS,
    say: Say = _quiet,
) -> list[Row]:
    """/v1/search under 1..64 concurrent clients: one process without query batching (the
    baseline, as before issue 17), one process with it, then ``workers`` processes with it."""
    if seconds <= 0:
        raise ValueError(f"seconds per level must be positive, got {seconds}")
    rounds = [("1 worker, no query batching", 1, "false"), ("1 worker", 1, "true")]
    if workers > 1:
        rounds.append((f"{workers} workers", workers, "true"))
    results: dict[str, dict[int, tuple[float, int, float]]] = {}
    for label, n, batching in rounds:
        say(f"throughput: {label}, clients {', '.join(map(str, clients))}")
        with Server(index, workers=n, env={"CNAI_BATCH_QUERIES": batching}) as server:
            load_levels(server.url, questions, [4], min(2.0, seconds))  # warm-up
            results[label] = load_levels(server.url, questions, clients, seconds)
    rows: list[Row] = []
    before = rounds[0][0]
    for label, levels in results.items():
        s = f"throughput {label}"
        for c, (rps, errors, p50) in levels.items():
            base, base_v = f"{c} clients, {before}", results[before][c][0]
            if label == before:
                base, base_v = f"1 client, {before}", results[before][clients[0]][0]
            target = f">= {MIN_RPS_AT_16:g} req/s, 0 errors" if c == 16 else ""
            met = (rps >= MIN_RPS_AT_16 and errors == 0) if c == 16 else None
            fig = f"/v1/search at {c} clients"
            rows.append(row(s, fig, rps, "req/s", base, base_v, target, met))
            rows.append(
                row(s, f"errors at {c} clients", errors, "count", "", None, "== 0", errors == 0)
            )
            rows.append(row(s, f"p50 at {c} clients", p50, "ms"))
    return rows


# The query embedder the API would use (ONNX export or torch, per CNAI_QUERY_ENCODER), alone.
_FLOOR = (
    "import sys, time; t = time.perf_counter(); from ingest.embed import Embedder; "
    "from ingest.onnx_encoder import query_embedder; from service.settings import ServiceSettings; "
    "s = ServiceSettings(); e = query_embedder(sys.argv[1], s.model_cache, 1) "
    "if s.query_encoder == 'onnx' else Embedder(sys.argv[1], threads=1); "
    "e.embed_query('warm up'); print(time.perf_counter() - t); "
    "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
)


def floor_process(model: str) -> tuple[float, int]:
    """Seconds and peak RSS bytes of a fresh process that only loads the embedding model."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _FLOOR, model], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - start
    kb = int(done.stdout.split()[-1])
    return elapsed, kb * 1024


def memory(
    full_index: Path, questions: list[str], requests: int = 40, say: Say = _quiet
) -> list[Row]:
    """Cold start to /readyz and peak RSS after search and ask traffic, with the full index,
    beside a fresh process that loads only the embedding model (the floor of both)."""
    model = load_index(full_index).manifest.model
    say("memory: timing a process that only loads the embedding model")
    floor_s, floor_rss = floor_process(model)
    say(f"memory: cold start of the API on {full_index}")
    with Server(full_index) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        ready = server.ready_s
        for i in range(requests):
            q = questions[i % len(questions)]
            client.post("/v1/search", json={"query": q, "k": 10}).raise_for_status()
            client.post("/v1/ask", json={"question": q}).raise_for_status()
        rss = server.peak_rss()
    s = "memory and start-up"
    base_s = "fresh process loading only the API's query embedder, to its first embedding"
    return [
        row(
            s,
            "cold start to /readyz (full index)",
            ready,
            "s",
            base_s,
            floor_s,
            f"<= {MAX_READY_S:g} s",
            ready <= MAX_READY_S,
        ),
        row(
            s,
            "peak RSS of the API (full index)",
            rss / 2**20,
            "MiB",
            base_s,
            floor_rss / 2**20,
            f"<= {MAX_RSS_BYTES / 2**20:g} MiB",
            rss <= MAX_RSS_BYTES,
        ),
    ]


def questions_of(dataset: Path) -> list[str]:
    from eval.dataset import load_questions

    found = [q.question for q in load_questions(dataset)]
    if not found:
        raise ValueError(f"dataset {dataset} holds no questions")
    return found


def query_vectors(embedder: Embedder, questions: list[str]) -> np.ndarray:
    return np.vstack([embedder.embed_query(q) for q in questions])
