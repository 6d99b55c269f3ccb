"""Query embeddings of concurrent requests, computed together in one model call.

Under load the API spends most of a /v1/search in the embedding model, and one call over 16
short queries costs about a quarter of 16 calls of one (measured on 2 cores, issue 17). There is
no waiting window: a request embeds at once when no batch is running, and only the requests that
arrive while one runs are gathered into the next, so a lone request is not slowed down.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

import numpy as np

from ingest.onnx_encoder import QueryEmbedder

MAX_BATCH = 32  # most queries in one model call; longer batches only add tail latency


class QueryBatcher:
    """``embed(text)`` from many threads; whoever finds no batch running computes the next."""

    def __init__(self, embedder: QueryEmbedder, enabled: bool = True, max_batch: int = MAX_BATCH):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.embedder, self.enabled, self.max_batch = embedder, enabled, max_batch
        self._cond = threading.Condition()
        self._pending: list[tuple[str, Future[np.ndarray]]] = []
        self._busy = False
        self.batches = 0  # model calls made, for tests and the bench

    def embed(self, text: str) -> np.ndarray:
        if not self.enabled:
            return self.embedder.embed_query(text)
        mine: Future[np.ndarray] = Future()
        with self._cond:
            self._pending.append((text, mine))
            while True:
                while self._busy and not mine.done():
                    self._cond.wait()
                if mine.done():
                    return mine.result()
                self._busy = True
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
                if mine.done():
                    return mine.result()

    def _run(self, batch: list[tuple[str, Future[np.ndarray]]]) -> None:
        try:
            if len(batch) == 1:
                vectors = self.embedder.embed_query(batch[0][0]).reshape(1, -1)
            else:
                vectors = self.embedder.embed_queries([text for text, _ in batch])
            self.batches += 1
        except BaseException as exc:  # every waiter sees the failure, not only this thread
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), vector in zip(batch, vectors, strict=True):
            future.set_result(np.asarray(vector, dtype=np.float32))
