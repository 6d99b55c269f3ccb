"""The BM25 index of a version's chunks: built at ingest time, stored as npy + JSON, memory-mapped.

Building it from the chunk texts at every API start took a second per 10k chunks and grows with
the corpus; stored beside the vectors it loads in milliseconds, and ``--workers`` processes share
its pages. bm25s writes numpy arrays (read with ``allow_pickle=False``) and JSON, never pickle.
"""

from __future__ import annotations

from pathlib import Path

import bm25s

from ingest.text import STEMMER, STOP_WORDS

FOLDER = "bm25"  # inside a version folder
# What bm25s.BM25.save writes there; the manifest records each file's SHA-256.
FILES = tuple(
    f"{FOLDER}/{name}"
    for name in (
        "data.csc.index.npy",
        "indices.csc.index.npy",
        "indptr.csc.index.npy",
        "vocab.index.json",
        "params.index.json",
    )
)


def build(texts: list[str]) -> bm25s.BM25:
    """A BM25 index over ``texts`` (one document each, in row order)."""
    bm25 = bm25s.BM25()
    if texts:
        tokens = bm25s.tokenize(texts, stopwords=STOP_WORDS, stemmer=STEMMER, show_progress=False)
        bm25.index(tokens, show_progress=False)
    return bm25


def write(bm25: bm25s.BM25, version: Path) -> None:
    bm25.save(str(version / FOLDER), allow_pickle=False, show_progress=False)


def read(version: Path) -> bm25s.BM25:
    """The stored index, its arrays memory-mapped read-only."""
    return bm25s.BM25.load(
        str(version / FOLDER), mmap=True, allow_pickle=False, show_progress=False
    )
