"""Scaling section of ``cnai bench``: the vector index at 1x, 10x and 40x the corpus.

The corpus's own chunk vectors are replicated as jittered copies (Gaussian noise, then
normalised), so the larger sets keep the corpus's shape without being exact duplicates that
would make every top 10 a tie. Real dev questions are the queries. For each size: build time,
size in memory, single-query search latency and recall@10 against exact flat search, for flat,
HNSW and IVF, and which one ``ingest.store.choose_vector_index`` picks.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import faiss
import numpy as np

from eval.bench.rows import Row, row
from eval.metrics import percentile
from ingest.store import FLAT, HNSW, build_vector_index, choose_vector_index, load_index

IVF = "ivf"
JITTER = 0.02  # per-dimension noise: a copy keeps a cosine of about 0.93 to its original
MIN_RECALL = 0.95  # recall@10 the automatically chosen index must keep against flat
IVF_NPROBE = 16
K = 10

Say = Callable[[str], None]


def replicate(base: np.ndarray, factor: int, seed: int = 0) -> np.ndarray:
    """``base`` followed by ``factor - 1`` jittered, re-normalised copies of it."""
    if factor < 1:
        raise ValueError(f"scale factors must be at least 1, got {factor}")
    rng = np.random.default_rng(seed)
    parts = [base.astype(np.float32)]
    for _ in range(factor - 1):
        copy = base + rng.normal(0, JITTER, base.shape).astype(np.float32)
        copy /= np.linalg.norm(copy, axis=1, keepdims=True)
        parts.append(copy.astype(np.float32))
    return np.vstack(parts)


def build(vectors: np.ndarray, kind: str) -> faiss.Index:
    if kind in (FLAT, HNSW):
        return build_vector_index(vectors, kind)
    if kind != IVF:
        raise ValueError(f"unknown index kind {kind!r}: use {FLAT}, {HNSW} or {IVF}")
    n, dim = vectors.shape
    nlist = max(1, min(int(np.sqrt(n)), n // 39))  # faiss wants >= 39 training points a list
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add(vectors)
    index.nprobe = min(IVF_NPROBE, nlist)
    return index


def size_bytes(index: faiss.Index) -> int:
    """What the index holds in memory once loaded: the size of its serialised file."""
    with tempfile.NamedTemporaryFile(suffix=".faiss") as tmp:
        faiss.write_index(index, tmp.name)
        return Path(tmp.name).stat().st_size


def top_k(index: faiss.Index, queries: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Top ``K`` ids of each query, searched one by one as the API does, and each one's ms."""
    ids, ms = [], []
    for q in queries:
        start = time.perf_counter()
        _, found = index.search(q.reshape(1, -1), K)
        ms.append((time.perf_counter() - start) * 1000)
        ids.append(found[0])
    return np.vstack(ids), ms


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / K for f, e in zip(found, exact, strict=True)]))


def scaling(
    index: Path,
    queries: np.ndarray,
    factors: Sequence[int] = (1, 10, 40),
    kinds: Sequence[str] = (FLAT, HNSW, IVF),
    say: Say = lambda _: None,
) -> list[Row]:
    version = load_index(index)
    base = version.vectors.reconstruct_n(0, version.vectors.ntotal)
    if not len(base):
        raise ValueError(f"index {index} holds no vectors to replicate")
    build_threads = faiss.omp_get_max_threads()
    rows: list[Row] = []
    for factor in factors:
        vectors = replicate(base, factor)
        n = len(vectors)
        s = f"scaling {factor}x ({n:,} vectors)"
        chosen = choose_vector_index(n)
        rows.append(
            row(s, f"automatic choice: {chosen}", None, "", "ingest.store.choose_vector_index")
        )
        exact: np.ndarray | None = None
        flat_ms = flat_build = 0.0
        for kind in kinds:
            say(f"scaling {factor}x: building {kind} over {n:,} vectors")
            faiss.omp_set_num_threads(build_threads)  # ingestion builds on every core
            start = time.perf_counter()
            built = build(vectors, kind)
            build_s = time.perf_counter() - start
            faiss.omp_set_num_threads(1)  # serving searches one query at a time on one thread
            found, ms = top_k(built, queries)
            p50 = percentile(ms, 0.5) or 0.0
            mib = size_bytes(built) / 2**20
            del built
            if kind == FLAT:
                exact, flat_ms, flat_build = found, p50, build_s
            rec = recall_at_k(found, exact) if exact is not None else None
            vs = "flat at this size" if kind != FLAT else ""
            rows += [
                row(s, f"{kind} build", build_s, "s", vs, flat_build if kind != FLAT else None),
                row(s, f"{kind} size", mib, "MiB"),
                row(s, f"{kind} search p50", p50, "ms", vs, flat_ms if kind != FLAT else None),
            ]
            if rec is not None and kind != FLAT:
                target = f">= {MIN_RECALL:g}" if kind == chosen else ""
                rows.append(
                    row(
                        s,
                        f"{kind} recall@10",
                        rec,
                        "",
                        "exact flat search",
                        1.0,
                        target,
                        rec >= MIN_RECALL if kind == chosen else None,
                    )
                )
    faiss.omp_set_num_threads(build_threads)
    return rows
