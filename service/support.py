"""How well a passage supports a sentence: embedding similarity plus shared content words.

One scorer serves answer verification (drop or flag unsupported generated sentences) and the
evaluation harness (faithfulness, citation precision), so both judge support the same way.
"""

from __future__ import annotations

import numpy as np

from ingest.embed import Embedder
from ingest.sentences import sentence_spans
from service.retrieval import content_words

SUPPORTED = 0.5  # a sentence at or above this is taken as supported by the passage


class SupportScorer:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def score(self, sentences: list[str], passages: list[str]) -> np.ndarray:
        """(len(sentences), len(passages)) support scores in [0, 1]."""
        out = np.zeros((len(sentences), len(passages)), dtype=np.float32)
        if not sentences or not passages:
            return out
        pieces = [_pieces(p) for p in passages]
        flat = [s for ps in pieces for s in ps]
        vecs = self.embedder.embed(list(sentences) + flat)
        svecs, pvecs = vecs[: len(sentences)], vecs[len(sentences) :]
        words = [content_words(s) for s in sentences]
        passage_words = [content_words(p) for p in passages]
        start = 0
        for j, ps in enumerate(pieces):
            block = pvecs[start : start + len(ps)]
            start += len(ps)
            cosine = (svecs @ block.T).max(axis=1)
            for i, w in enumerate(words):
                overlap = len(w & passage_words[j]) / len(w) if w else 0.0
                out[i, j] = 0.5 * max(0.0, float(cosine[i])) + 0.5 * overlap
        return out


def _pieces(passage: str) -> list[str]:
    """A passage's sentences, or the passage itself when it has none (a table, a short line)."""
    spans = sentence_spans(passage)
    return [passage[s:e] for s, e in spans] or [passage]
