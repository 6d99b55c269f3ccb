"""Optional second-stage rerankers: a local cross-encoder, or a `/rerank` HTTP API.

Either one scores (question, passage) pairs; `blend` mixes those scores with the hybrid
retriever's own, and any failure leaves the hybrid ranking as it was (see `Outcome`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import numpy as np

from ingest.errors import CnaiError

log = logging.getLogger(__name__)

Protocol_ = Literal["tei", "infinity"]


class RerankerNotConfigured(CnaiError):
    """The reranker settings name no usable model folder or server."""


class RerankError(RuntimeError):
    """The reranker could not score the passages (timeout, bad reply, model error)."""


class Reranker(Protocol):
    name: str

    def scores(self, query: str, texts: list[str]) -> list[float]: ...


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` loaded from a local folder (no download)."""

    name = "cross-encoder"

    def __init__(self, folder: Path, threads: int = 1) -> None:
        if not folder.is_dir():
            raise RerankerNotConfigured(
                f"reranker model folder {folder} does not exist: set CNAI_RERANKER_MODEL to a "
                "folder saved by sentence-transformers (e.g. one `cnai adapt` wrote)"
            )
        import torch
        from sentence_transformers import CrossEncoder

        torch.set_num_threads(threads)
        self.model = CrossEncoder(str(folder), num_labels=1, device="cpu", local_files_only=True)

    def scores(self, query: str, texts: list[str]) -> list[float]:
        try:
            out = self.model.predict([(query, t) for t in texts], show_progress_bar=False)
        except Exception as exc:  # noqa: BLE001 - any model failure falls back, see blend
            raise RerankError(f"cross-encoder failed: {exc}") from exc
        return [float(s) for s in np.asarray(out).reshape(-1)]


class HttpReranker:
    """The `/rerank` API of Hugging Face Text Embeddings Inference or of Infinity.

    TEI takes ``{"query", "texts"}`` and answers ``[{"index", "score"}]``; Infinity (Cohere's
    shape) takes ``{"query", "documents", "model"}`` and answers
    ``{"results": [{"index", "relevance_score"}]}``. Both replies are read either way.
    """

    name = "http"

    def __init__(
        self, url: str, protocol: Protocol_ = "tei", model: str = "", timeout: float = 2.0
    ) -> None:
        base = url.rstrip("/")
        self.url = base if base.endswith("/rerank") else base + "/rerank"
        self.protocol = protocol
        self.model = model
        self.client = httpx.Client(timeout=timeout)

    def scores(self, query: str, texts: list[str]) -> list[float]:
        body: dict[str, Any] = {"query": query}
        if self.protocol == "tei":
            body["texts"] = texts
        else:
            body["documents"] = texts
            if self.model:
                body["model"] = self.model
        try:
            reply = self.client.post(self.url, json=body)
            reply.raise_for_status()
            return _read(reply.json(), len(texts))
        except httpx.TimeoutException as exc:
            raise RerankError(f"{self.url} did not answer in time") from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise RerankError(f"{self.url} failed: {exc}") from exc


def _read(data: Any, n: int) -> list[float]:
    """Scores in input order from a TEI list or an Infinity/Cohere ``results`` object."""
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"reply is not a list of scores: {str(data)[:200]}")
    out: list[float | None] = [None] * n
    for item in items:
        if not isinstance(item, dict):
            raise ValueError(f"reply item is not an object: {item!r}")
        index = item.get("index")
        score = item.get("score", item.get("relevance_score"))
        if not isinstance(index, int) or not 0 <= index < n or not isinstance(score, int | float):
            raise ValueError(f"reply item lacks a valid index and score: {item!r}")
        out[index] = float(score)
    missing = [i for i, s in enumerate(out) if s is None]
    if missing:
        raise ValueError(f"reply has no score for passages {missing[:5]}")
    return [s for s in out if s is not None]


@dataclass
class Outcome:
    scores: dict[int, float]  # row -> blended score (the input scores when it fell back)
    ms: float
    failed: str = ""  # why it fell back, empty when it did not


def _unit(values: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]: the two score scales differ, so each is put on one range first."""
    span = float(values.max() - values.min())
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


def blend(
    reranker: Reranker,
    query: str,
    rows: list[int],
    texts: list[str],
    current: dict[int, float],
    weight: float,
) -> Outcome:
    """``(1 - weight) * current + weight * reranker``, both min-max scaled over ``rows``."""
    start = time.perf_counter()
    try:
        external = np.array(reranker.scores(query, texts))
    except RerankError as exc:
        ms = round((time.perf_counter() - start) * 1000, 2)
        log.warning("reranker %s failed, hybrid ranking kept: %s", reranker.name, exc)
        return Outcome(current, ms, str(exc))
    ms = round((time.perf_counter() - start) * 1000, 2)
    mine = _unit(np.array([current[i] for i in rows]))
    mixed = (1 - weight) * mine + weight * _unit(external)
    return Outcome({i: float(s) for i, s in zip(rows, mixed, strict=True)}, ms)


def make(
    kind: str,
    model: Path,
    url: str,
    protocol: Protocol_ = "tei",
    name: str = "",
    timeout: float = 2.0,
    threads: int = 1,
) -> Reranker | None:
    """The reranker that settings name, or None for ``none``."""
    if kind == "none":
        return None
    if kind == "cross-encoder":
        return CrossEncoderReranker(model, threads)
    if kind == "http":
        if not url:
            raise RerankerNotConfigured(
                "CNAI_RERANKER=http needs CNAI_RERANKER_URL, e.g. http://127.0.0.1:8080"
            )
        return HttpReranker(url, protocol, name, timeout)
    raise RerankerNotConfigured(f"unknown reranker {kind!r}: use none, cross-encoder or http")
