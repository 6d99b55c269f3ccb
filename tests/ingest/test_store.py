"""Index versions round-trip, switch atomically, and refuse folders they cannot trust."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import faiss
import numpy as np
import pytest

from ingest import lexicon
from ingest.chunker import Chunk
from ingest.errors import IndexMismatch, IndexNotFound
from ingest.store import (
    DATA_FILES,
    FORMAT_VERSION,
    Embedded,
    Manifest,
    current_version,
    load_index,
    sha256_of,
    write_version,
)
from ingest.text import sentence_spans

DIM = 8


def unit_rows(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def sample(seed: int = 0) -> tuple[Manifest, Embedded]:
    chunks = [
        Chunk(
            chunk_id=f"id-{seed}-{i}",
            doc_path="notes/a.md" if i < 2 else "papers/b.pdf",
            title="A" if i < 2 else "B",
            kind="doc",
            url="https://example.org/a" if i < 2 else "",
            section=f"Part {i}",
            text=f"Sentence one of chunk {i} is here. Sentence two of chunk {i} is here.",
            ordinal=i if i < 2 else i - 2,
            meta={} if i < 2 else {"page": i},
        )
        for i in range(3)
    ]
    both = sentence_spans(chunks[0].text)
    spans = [both, both[:1], []]
    manifest = Manifest(
        "test-model",
        DIM,
        {"strategy": "headings+blocks", "chunk_tokens": 220},
        {"notes/a.md": {"sha256": "x", "title": "A", "chunks": 2}},
    )
    return manifest, Embedded(chunks, unit_rows(3, seed), spans, unit_rows(3, seed + 100))


def versions(index: Path) -> list[str]:
    return sorted(p.name for p in index.glob("v-*"))


def test_write_then_load_round_trips_chunks_vectors_and_sentences(tmp_path: Path):
    manifest, data = sample()
    folder = write_version(tmp_path / "index", manifest, data)
    loaded = load_index(tmp_path / "index", expect_model="test-model")
    assert loaded.folder == folder
    assert loaded.chunks == data.chunks
    assert loaded.spans == data.spans
    assert np.array_equal(loaded.vectors.reconstruct_n(0, 3), data.vectors)
    # Sentence vectors are stored as float16: close, not equal.
    np.testing.assert_allclose(loaded.sentence_vectors, data.sentence_vectors, atol=1e-3)
    assert loaded.first_sentence == [0, 2, 3]
    texts, vectors = loaded.sentences(0)
    assert texts == ["Sentence one of chunk 0 is here.", "Sentence two of chunk 0 is here."]
    assert vectors.shape == (2, DIM)
    assert loaded.manifest.documents == manifest.documents
    assert loaded.manifest.created_at


def test_document_returns_only_that_documents_chunks_and_vectors(tmp_path: Path):
    manifest, data = sample()
    write_version(tmp_path / "index", manifest, data)
    part = load_index(tmp_path / "index").document("notes/a.md")
    assert [c.chunk_id for c in part.chunks] == ["id-0-0", "id-0-1"]
    assert np.array_equal(part.vectors, data.vectors[:2])
    assert part.sentence_vectors.shape == (3, DIM)


def test_current_switches_to_the_new_version_and_keeps_only_the_previous_one(tmp_path: Path):
    index = tmp_path / "index"
    first = write_version(index, *sample(1))
    second = write_version(index, *sample(2))
    assert (index / "CURRENT").read_text().strip() == second.name
    assert versions(index) == [first.name, second.name]
    third = write_version(index, *sample(3))
    assert current_version(index) == third
    assert versions(index) == [second.name, third.name]
    assert load_index(index).chunks[0].chunk_id == "id-3-0"


def test_missing_index_raises_index_not_found_saying_how_to_build_it(tmp_path: Path):
    with pytest.raises(IndexNotFound, match="cnai ingest"):
        load_index(tmp_path / "nothing-here")


def test_current_pointing_at_a_missing_version_raises_index_not_found(index_copy: Path):
    (index_copy / "CURRENT").write_text("v-gone\n")
    with pytest.raises(IndexNotFound, match="cnai ingest"):
        load_index(index_copy)


def test_manifest_with_another_format_version_raises_index_mismatch(index_copy: Path):
    path = current_version(index_copy) / "manifest.json"
    data = json.loads(path.read_text())
    data["format_version"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(IndexMismatch, match="cnai ingest"):
        load_index(index_copy)


def test_unreadable_manifest_raises_index_mismatch(index_copy: Path):
    (current_version(index_copy) / "manifest.json").write_text("{not json")
    with pytest.raises(IndexMismatch, match="manifest"):
        load_index(index_copy)


def test_expecting_another_model_raises_index_mismatch_naming_both_models(
    index_copy: Path, embedder
):
    with pytest.raises(IndexMismatch) as info:
        load_index(index_copy, expect_model="other")
    assert "'other'" in str(info.value)
    assert repr(embedder.model_id) in str(info.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_vectors_file_raises_index_mismatch(index_copy: Path, damage: str):
    path = current_version(index_copy) / "vectors.faiss"
    content = path.read_bytes()
    path.write_bytes(b"not a faiss index" * 10 if damage == "garbage" else content[:100])
    with pytest.raises(IndexMismatch, match="cnai ingest"):
        load_index(index_copy)


def test_sentence_vectors_of_the_wrong_shape_raise_index_mismatch(index_copy: Path):
    path = current_version(index_copy) / "sentences.npy"
    np.save(path, np.zeros((1, 3), np.float16), allow_pickle=False)
    # A matching checksum, so the shape check is what refuses it.
    manifest = json.loads((path.parent / "manifest.json").read_text())
    manifest["files"]["sentences.npy"] = sha256_of(path)
    (path.parent / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="inconsistent"):
        load_index(index_copy)


def test_leftover_tmp_folder_is_ignored_by_load_and_removed_by_the_next_write(
    index_copy: Path, tiny_index: Path
):
    leftover = index_copy / ".tmp-20200101T000000-000000001"
    leftover.mkdir()
    (leftover / "vectors.faiss").write_bytes(b"half written")
    (leftover / "manifest.json").write_text("{")
    loaded = load_index(index_copy)
    assert loaded.chunks == load_index(tiny_index).chunks
    write_version(index_copy, *sample())
    assert not leftover.exists()
    assert not list(index_copy.glob(".tmp-*"))


def test_no_file_in_an_index_needs_pickle(index_copy: Path):
    folder = current_version(index_copy)
    files = {p.name for p in index_copy.iterdir() if p.is_file() and p.name != ".lock"}
    assert files == {"CURRENT"}
    names = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert names == {"manifest.json", *DATA_FILES}
    json.loads((folder / "manifest.json").read_text())
    assert faiss.read_index(str(folder / "vectors.faiss")).ntotal > 0
    db = sqlite3.connect(folder / "chunks.sqlite")
    assert db.execute("SELECT count(*) FROM chunks").fetchone()[0] > 0
    db.close()
    assert np.load(folder / "sentences.npy", allow_pickle=False).dtype == np.float16
    for name in lexicon.FILES:
        if name.endswith(".npy"):
            assert np.load(folder / name, allow_pickle=False).size > 0
        else:
            json.loads((folder / name).read_text())
    for path in folder.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


def test_write_rejects_data_without_one_vector_per_chunk(tmp_path: Path):
    manifest, data = sample()
    data.vectors = data.vectors[:2]
    with pytest.raises(ValueError):
        write_version(tmp_path / "index", manifest, data)
    assert not list((tmp_path / "index").glob("v-*"))
