"""The BM25 index stored at ingest time scores as one built at load; format-1 indexes still load
and an ingest run upgrades them without embedding again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest import lexicon, names
from ingest.embed import Embedder
from ingest.errors import IndexMismatch
from ingest.pipeline import ingest
from ingest.store import FORMAT_VERSION, current_version, load_index
from ingest.text import tokenize
from service.engine import Engine
from service.schemas import SearchRequest
from service.settings import ServiceSettings

QUERIES = [
    "How does MIG isolate tenants on one GPU?",
    "time-slicing latency",
    "What is cloud native AI?",
    "MPS memory isolation between processes",
    "zzz unknown words only",
]


def as_format_1(index: Path) -> None:
    """Turn the live version into what an early release wrote: no bm25/, no names, format 1."""
    folder = current_version(index)
    shutil.rmtree(folder / lexicon.FOLDER)
    (folder / names.FILE).unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 1
    del manifest["bm25"], manifest["names"]
    stored = set(lexicon.FILES) | {names.FILE}
    manifest["files"] = {k: v for k, v in manifest["files"].items() if k not in stored}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_the_stored_index_scores_every_query_as_one_built_from_the_chunks(index_copy: Path):
    version = load_index(index_copy)
    assert version.bm25 is not None
    built = lexicon.build([c.embed_text for c in version.chunks])
    for q in QUERIES:
        terms = tokenize([q])[0]
        if terms:
            assert np.array_equal(version.bm25.get_scores(terms), built.get_scores(terms))


def test_a_format_1_index_loads_and_searches_as_the_stored_one(
    index_copy: Path, tmp_path: Path, embedder: Embedder
):
    old = Path(shutil.copytree(index_copy, tmp_path / "old"))
    as_format_1(old)
    assert load_index(old).bm25 is None
    stored = Engine(ServiceSettings(index=index_copy), embedder)
    built = Engine(ServiceSettings(index=old), embedder)
    for q in QUERIES:
        a, b = (e.search(SearchRequest(query=q, k=4)).results for e in (stored, built))
        assert [(r.chunk_id, r.score) for r in a] == [(r.chunk_id, r.score) for r in b]


def test_ingest_upgrades_a_format_1_index_without_embedding_again(
    index_copy: Path, tiny_corpus: Path, embedder: Embedder
):
    as_format_1(index_copy)
    before = current_version(index_copy)
    report = ingest([tiny_corpus], index_copy, embedder, show_progress=False)
    assert report.upgraded and report.up_to_date and report.embedded == 0
    after = load_index(index_copy)
    assert after.folder != before
    assert after.manifest.format_version == FORMAT_VERSION and after.bm25 is not None
    again = ingest([tiny_corpus], index_copy, embedder, show_progress=False)
    assert not again.upgraded and again.version == after.folder.name


def test_a_bm25_that_disagrees_with_the_chunks_is_refused(index_copy: Path, embedder: Embedder):
    folder = current_version(index_copy)
    other = lexicon.build(["one chunk only"])
    shutil.rmtree(folder / lexicon.FOLDER)
    lexicon.write(other, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]  # so the checksums do not catch it first
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="BM25 over 1 chunks"):
        load_index(index_copy)


def test_an_index_from_a_newer_release_names_the_rebuild(index_copy: Path):
    folder = current_version(index_copy)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(
        IndexMismatch, match=r"this version reads 1, 2, 3; rebuild it with: cnai ingest"
    ):
        load_index(index_copy)
