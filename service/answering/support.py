"""How well a passage supports a sentence: embedding similarity plus shared content words.

One scorer serves answer verification (drop or flag unsupported generated sentences) and the
evaluation harness (faithfulness, citation precision), so both judge support the same way.
"""

from __future__ import annotations

import threading

import numpy as np

from ingest.onnx_encoder import QueryEmbedder
from ingest.text import content_words, sentence_spans
from service.answering.tuning import SUPPORT

SUPPORTED = SUPPORT.supported  # at or above this a sentence is supported by the passage


class SupportScorer:
    def __init__(self, embedder: QueryEmbedder, cache_size: int = 4096) -> None:
        self.embedder = embedder
        # Streaming verification scores each new sentence against the same passages again.
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def score(self, sentences: list[str], passages: list[str]) -> np.ndarray:
        """(len(sentences), len(passages)) support scores in [0, 1]."""
        out = np.zeros((len(sentences), len(passages)), dtype=np.float32)
        if not sentences or not passages:
            return out
        pieces = [_pieces(p) for p in passages]
        # A sentence quoted word for word from a passage has cosine 1 and full word overlap
        # with it: its support is exactly 1, so the embedder is not asked (extractive answers).
        quoted = np.array(
            [[_same(s) in {_same(x) for x in ps} for ps in pieces] for s in sentences], dtype=bool
        )
        out[quoted] = 1.0
        if quoted.all():
            return out
        flat = [s for ps in pieces for s in ps]
        vecs = self._embed(list(sentences) + flat)
        svecs, pvecs = vecs[: len(sentences)], vecs[len(sentences) :]
        words = [content_words(s) for s in sentences]
        passage_words = [content_words(p) for p in passages]
        start = 0
        for j, ps in enumerate(pieces):
            block = pvecs[start : start + len(ps)]
            start += len(ps)
            cosine = (svecs @ block.T).max(axis=1)
            for i, w in enumerate(words):
                if quoted[i, j]:
                    continue
                overlap = len(w & passage_words[j]) / len(w) if w else 0.0
                mix = SUPPORT.w_cosine
                out[i, j] = mix * max(0.0, float(cosine[i])) + (1 - mix) * overlap
        return out

    def _embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if len(self._cache) + len(missing) > self._cache_size:
                self._cache.clear()
                missing = list(dict.fromkeys(texts))
            if missing:
                self._cache.update(zip(missing, self.embedder.embed(missing), strict=True))
            return np.stack([self._cache[t] for t in texts])


def _same(text: str) -> str:
    return " ".join(text.split())


def _pieces(passage: str) -> list[str]:
    """A passage's sentences, or the passage itself when it has none (a table, a short line)."""
    spans = sentence_spans(passage)
    return [passage[s:e] for s, e in spans] or [passage]
