"""One Embedder used from many threads at once, as the API's worker threads use it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ingest.embed import Embedder

TEXTS = [
    "How many partitions can MIG make of one card?",
    "scaling to zero",
    "What does request-based autoscaling do when the queue of pending requests grows?",
    "RAG",
    "Why does time-slicing make latency less predictable for workloads sharing a GPU?",
]


def test_concurrent_batches_queries_and_token_counts_all_succeed(embedder: Embedder) -> None:
    """The fast tokenizer keeps padding and truncation as state: a token count or a single
    query from one thread while another pads a batch left the batch unpadded (a 500 under
    load, found by the load test)."""
    expected = embedder.embed(TEXTS)

    def work(i: int) -> object:
        kind = i % 3
        if kind == 0:
            return embedder.embed(TEXTS[i % 2 :], batch_size=8)
        if kind == 1:
            return embedder.embed_query(TEXTS[i % len(TEXTS)])
        return embedder.count_tokens(TEXTS[i % len(TEXTS)] * (1 + i % 4))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(240)))
    for i, got in enumerate(results):
        if i % 3 == 0:
            assert np.allclose(got, expected[i % 2 :], atol=1e-5)
        elif i % 3 == 1:
            assert np.allclose(got, expected[i % len(TEXTS)], atol=1e-5)
