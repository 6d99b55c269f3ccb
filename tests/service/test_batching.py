"""Concurrent query embeddings share model calls and equal one-by-one embeddings."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ingest.embed import Embedder
from service.batching import QueryBatcher

QUERIES = [f"how do pods share GPU number {i} with MIG or time-slicing" for i in range(24)]


def test_concurrent_queries_get_their_own_vectors_in_fewer_model_calls(embedder: Embedder) -> None:
    batcher = QueryBatcher(embedder)
    gate = threading.Barrier(12)

    def one(q: str) -> np.ndarray:
        gate.wait()  # all twelve arrive together, as under load
        return batcher.embed(q)

    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(one, QUERIES[:12]))
    for q, vec in zip(QUERIES[:12], got, strict=True):
        assert np.allclose(vec, embedder.embed_query(q), atol=1e-5)
    assert batcher.batches < 12


def test_a_lone_query_is_one_call_and_disabled_batching_calls_the_model_directly(
    embedder: Embedder,
) -> None:
    batcher = QueryBatcher(embedder)
    assert np.allclose(batcher.embed(QUERIES[0]), embedder.embed_query(QUERIES[0]), atol=1e-6)
    assert batcher.batches == 1
    off = QueryBatcher(embedder, enabled=False)
    off.embed(QUERIES[1])
    assert off.batches == 0


class _Broken:
    model = None

    def embed_query(self, text: str) -> np.ndarray:
        raise RuntimeError("model failed")


def test_a_failing_model_call_reaches_every_waiter() -> None:
    batcher = QueryBatcher(_Broken())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.embed("anything")
    with pytest.raises(ValueError, match="at least 1"):
        QueryBatcher(_Broken(), max_batch=0)  # type: ignore[arg-type]
