"""Index versions copied into milvus-lite rank exactly as their FAISS files do."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import Embedder
from ingest.errors import IndexNotFound
from ingest.pipeline import ingest
from ingest.store import load_index

pytest.importorskip("pymilvus", reason="pymilvus and milvus-lite are in the dev extra")
pytest.importorskip("milvus_lite", reason="pymilvus and milvus-lite are in the dev extra")

from ingest.milvus import MilvusDense, check_uri, collection_name, connect, load_version  # noqa: E402
from service.retrieval import FaissDense  # noqa: E402

QUERIES = [
    "How can several pods share one GPU?",
    "What happens on a cold start when scaling to zero?",
    "Which pipeline steps are repeatable on a shared platform?",
]


def test_milvus_search_returns_the_faiss_rows_and_cosines(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    version = load_index(tiny_index)
    uri = str(tmp_path / "milvus.db")
    load_version(version, uri)
    milvus, faiss_ = MilvusDense(version, uri), FaissDense(version)
    n = len(version.chunks)
    masks = [None, np.arange(n) % 2 == 0, np.arange(n) == n - 1]
    for query in QUERIES:
        qvec = embedder.embed_query(query)
        for allowed in masks:
            got, got_rank = milvus.search(qvec, 5, allowed)
            want, want_rank = faiss_.search(qvec, 5, allowed)
            assert got_rank == want_rank
            if allowed is not None:
                assert all(allowed[i] for i in got_rank)
            for i in got_rank:
                assert got[i] == pytest.approx(want[i], abs=1e-5)


def test_an_empty_filter_finds_nothing(tiny_index: Path, embedder: Embedder, tmp_path: Path):
    version = load_index(tiny_index)
    uri = str(tmp_path / "milvus.db")
    load_version(version, uri)
    none = np.zeros(len(version.chunks), dtype=bool)
    assert MilvusDense(version, uri).search(embedder.embed_query(QUERIES[0]), 5, none) == ({}, [])


def test_loading_twice_keeps_one_collection_and_new_versions_replace_old_ones(
    tiny_corpus: Path, tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    index = Path(shutil.copytree(tiny_index, tmp_path / "index"))
    uri = str(tmp_path / "milvus.db")
    first = load_index(index)
    assert load_version(first, uri) == load_version(first, uri) == collection_name(first)
    notes = Path(shutil.copytree(tiny_corpus, tmp_path / "notes"))
    names = []
    for n in range(3):  # three more versions, one changed note each
        note = notes / "model-serving.md"
        note.write_text(note.read_text() + f"\nRevision {n} of this note adds one sentence.\n")
        ingest([notes], index, embedder, show_progress=False)
        names.append(load_version(load_index(index), uri))
    kept = sorted(c for c in connect(uri).list_collections() if c.startswith("cnai_v_"))
    assert kept == sorted(names[-2:])


def test_an_unloaded_version_is_refused_with_the_load_command(tiny_index: Path, tmp_path: Path):
    uri = str(tmp_path / "empty.db")
    with pytest.raises(IndexNotFound, match="cnai milvus load --index"):
        MilvusDense(load_index(tiny_index), uri)


@pytest.mark.parametrize("uri", ["localhost:19530", "var/milvus", "ftp://x"])
def test_a_uri_that_is_neither_a_server_nor_a_lite_file_is_rejected(uri: str) -> None:
    with pytest.raises(ValueError, match="milvus-lite file"):
        check_uri(uri)
