"""Index folders: versioned FAISS + SQLite docstore + manifest, switched atomically.

Layout: ``<index>/CURRENT`` names the live version folder ``<index>/v-<stamp>/`` holding
``manifest.json``, ``vectors.faiss`` (one vector per chunk), ``chunks.sqlite`` (chunk text and
sentence spans), ``sentences.npy`` (one float16 vector per sentence, read without pickle),
``bm25/`` (the chunks' BM25 index as npy + JSON, see ingest.lexicon) and ``names.json`` (the
corpus words, acronyms and heading words the API used to count at start-up, see ingest.names).
The vectors, sentence vectors and BM25 arrays are memory-mapped, so ``--workers`` processes
share them.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from ingest import lexicon, names
from ingest.chunker import Chunk
from ingest.errors import IndexMismatch, IndexNotFound
from ingest.names import Names

log = logging.getLogger(__name__)

# 2: the BM25 index is stored (bm25/). A version-1 index still loads, building BM25 at load
# time as before; any ingest run over it writes the current version without embedding anything
# again. 3: the corpus names are stored (names.json); an older index counts them at load time.
FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)
# Sentence vectors pooled from the chunk pass's token embeddings, or each sentence embedded alone.
POOLED, STANDALONE = "pooled", "standalone"
_KEEP_VERSIONS = 2
# The files of a version whose SHA-256 the manifest records and every load verifies.
BASE_FILES = ("vectors.faiss", "chunks.sqlite", "sentences.npy")
DATA_FILES = BASE_FILES + lexicon.FILES + (names.FILE,)
# Vector index chosen by size: exact flat search up to FLAT_MAX_VECTORS, HNSW above. The scaling
# bench (`cnai bench --sections scaling`) measured HNSW with efSearch 64 at recall@10 0.83 (10x the
# corpus) and 0.64 (40x), too low to be a default; flat stays exact, so it holds to 400k vectors
# (40x the reference corpus) and HNSW above searches wider (efSearch 256, not yet re-measured).
FLAT, HNSW = "flat", "hnsw"
FLAT_MAX_VECTORS = 400_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 256

_SCHEMA = """
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_path TEXT NOT NULL,
    title TEXT, kind TEXT, url TEXT, section TEXT, text TEXT NOT NULL, ordinal INTEGER,
    meta TEXT NOT NULL
);
CREATE INDEX chunks_doc ON chunks (doc_path);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, chunk_row INTEGER NOT NULL, start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
"""


def _rebuild_hint(folder: Path) -> str:
    return f"rebuild it with: cnai ingest PATH... --index {folder}"


@dataclass
class Manifest:
    model: str
    dimension: int
    chunker: dict[str, Any]
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    created_at: str = ""
    format_version: int = FORMAT_VERSION
    # How sentence vectors were made ({"method": POOLED, ...pooling settings}); an index written
    # before this field existed embedded each sentence on its own.
    sentence_vectors: dict[str, Any] = field(default_factory=lambda: {"method": STANDALONE})
    # SHA-256 of each data file; empty in indexes written before checksums (still loaded).
    files: dict[str, str] = field(default_factory=dict)
    vector_index: str = FLAT  # FLAT or HNSW, see choose_vector_index
    bm25: bool = False  # the BM25 index is stored in bm25/ (format 2, any chunk at all)
    names: bool = False  # the corpus names are stored in names.json (format 3)

    def data_files(self) -> tuple[str, ...]:
        stored = (lexicon.FILES if self.bm25 else ()) + ((names.FILE,) if self.names else ())
        return BASE_FILES + stored

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True)

    @classmethod
    def from_file(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
            manifest = cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexMismatch(
                f"unreadable manifest {path} ({exc}); {_rebuild_hint(path.parent.parent)}"
            ) from exc
        if manifest.format_version not in READABLE_FORMATS:
            raise IndexMismatch(
                f"index format {manifest.format_version} at {path.parent}, this version reads "
                f"{', '.join(map(str, READABLE_FORMATS))}; {_rebuild_hint(path.parent.parent)}"
            )
        return manifest


@dataclass
class Embedded:
    """Chunks with their vectors, and each chunk's sentence spans with theirs."""

    chunks: list[Chunk]
    vectors: np.ndarray  # (chunks, dim)
    spans: list[list[tuple[int, int]]]  # per chunk
    sentence_vectors: np.ndarray  # (sum of spans, dim), in chunk order

    @classmethod
    def concat(cls, parts: list[Embedded], dim: int) -> Embedded:
        def stack(arrays: list[np.ndarray]) -> np.ndarray:
            arrays = [a for a in arrays if len(a)]
            return np.vstack(arrays) if arrays else np.zeros((0, dim), np.float32)

        return cls(
            [c for p in parts for c in p.chunks],
            stack([p.vectors for p in parts]),
            [s for p in parts for s in p.spans],
            stack([p.sentence_vectors for p in parts]),
        )


@dataclass
class IndexVersion:
    """One loaded, immutable index version."""

    folder: Path
    manifest: Manifest
    vectors: faiss.Index
    chunks: list[Chunk]
    spans: list[list[tuple[int, int]]]
    sentence_vectors: np.ndarray  # float16 as stored, memory-mapped; sentences() gives float32
    first_sentence: list[int]  # row of each chunk's first sentence in sentence_vectors
    bm25: bm25s.BM25 | None = None  # stored BM25 index; None in a format-1 index
    names: Names | None = None  # stored corpus names; None before format 3

    def sentences(self, row: int) -> tuple[list[str], np.ndarray]:
        """The sentences of chunk ``row`` and their vectors."""
        text, spans, first = self.chunks[row].text, self.spans[row], self.first_sentence[row]
        vectors = self.sentence_vectors[first : first + len(spans)].astype(np.float32)
        return [text[s:e] for s, e in spans], vectors

    def document(self, doc_path: str) -> Embedded:
        rows = [i for i, c in enumerate(self.chunks) if c.doc_path == doc_path]
        dim = self.manifest.dimension
        sent_rows = [self.first_sentence[i] + j for i in rows for j in range(len(self.spans[i]))]
        return Embedded(
            [self.chunks[i] for i in rows],
            np.vstack([self.vectors.reconstruct(i) for i in rows]) if rows else np.zeros((0, dim)),
            [self.spans[i] for i in rows],
            self.sentence_vectors[sent_rows].astype(np.float32),
        )


def choose_vector_index(n: int) -> str:
    """The vector index type for ``n`` vectors: exact flat while it is fast, HNSW above."""
    return FLAT if n <= FLAT_MAX_VECTORS else HNSW


def build_vector_index(vectors: np.ndarray, kind: str) -> faiss.Index:
    """An inner-product index of ``kind`` over ``vectors`` (normalised, so IP is cosine)."""
    dim = vectors.shape[1]
    if kind == FLAT:
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == HNSW:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        raise ValueError(f"unknown vector index {kind!r}: use {FLAT} or {HNSW}")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def read_vector_index(path: Path) -> faiss.Index:
    """Memory-map the vectors read-only, so API workers on one machine share their pages."""
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:  # a type faiss cannot map: read it into memory instead
        return faiss.read_index(str(path))


def current_version(index: Path) -> Path:
    pointer = index / "CURRENT"
    if not pointer.is_file():
        raise IndexNotFound(f"no index at {index}; {_rebuild_hint(index)}")
    folder = index / pointer.read_text().strip()
    if not folder.is_dir():
        raise IndexNotFound(
            f"index {index} points at missing {folder.name}; {_rebuild_hint(index)}"
        )
    return folder


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(folder: Path, manifest: Manifest) -> None:
    """Refuse a version whose data files are missing or differ from the manifest's checksums."""
    if not manifest.files:
        log.warning("index %s has no checksums (built before they were recorded)", folder)
        return
    for name in manifest.data_files():
        expected = manifest.files.get(name)
        path = folder / name
        if expected is None:
            raise IndexMismatch(f"index {folder}: the manifest has no checksum for {name}")
        if not path.is_file():
            raise IndexMismatch(f"index {folder}: {name} is missing")
        found = sha256_of(path)
        if found != expected:
            raise IndexMismatch(
                f"index {folder}: {name} is corrupt (sha256 {found[:12]}..., the manifest "
                f"records {expected[:12]}...)"
            )


def load_index(index: Path, expect_model: str | None = None) -> IndexVersion:
    folder = current_version(index)
    manifest = Manifest.from_file(folder / "manifest.json")
    try:
        verify_files(folder, manifest)
    except IndexMismatch as exc:
        raise IndexMismatch(f"{exc}; {_rebuild_hint(index)}") from None
    if expect_model and manifest.model != expect_model:
        raise IndexMismatch(
            f"index {index} was built with {manifest.model!r}, not {expect_model!r}; "
            f"set CNAI_EMBEDDING_MODEL={manifest.model} or {_rebuild_hint(index)}"
        )
    try:
        vectors = read_vector_index(folder / "vectors.faiss")
        chunks, spans = _read_chunks(folder / "chunks.sqlite")
        sentence_vectors = np.load(folder / "sentences.npy", allow_pickle=False, mmap_mode="r")
        bm25 = lexicon.read(folder) if manifest.bm25 else None
        stored_names = names.read(folder, len(chunks)) if manifest.names else None
    except (OSError, ValueError, KeyError, RuntimeError, sqlite3.Error) as exc:
        raise IndexMismatch(f"index {folder} is damaged ({exc}); {_rebuild_hint(index)}") from exc
    n_sentences = sum(len(s) for s in spans)
    if (
        vectors.ntotal != len(chunks)
        or vectors.d != manifest.dimension
        or sentence_vectors.shape != (n_sentences, manifest.dimension)
    ):
        raise IndexMismatch(
            f"index {folder} is inconsistent ({vectors.ntotal} vectors of dimension {vectors.d} "
            f"for {len(chunks)} chunks, {len(sentence_vectors)} sentence vectors for "
            f"{n_sentences} sentences, manifest says {manifest.dimension}); {_rebuild_hint(index)}"
        )
    first = np.concatenate([[0], np.cumsum([len(s) for s in spans])[:-1]]).astype(int).tolist()
    if bm25 is not None and bm25.scores["num_docs"] != len(chunks):
        raise IndexMismatch(
            f"index {folder} is inconsistent (BM25 over {bm25.scores['num_docs']} chunks, "
            f"{len(chunks)} chunks); {_rebuild_hint(index)}"
        )
    return IndexVersion(
        folder, manifest, vectors, chunks, spans, sentence_vectors, first, bm25, stored_names
    )


def _read_chunks(path: Path) -> tuple[list[Chunk], list[list[tuple[int, int]]]]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT chunk_id, doc_path, title, kind, url, section, text, ordinal, meta "
            "FROM chunks ORDER BY row"
        ).fetchall()
        sentence_rows = db.execute("SELECT chunk_row, start, end FROM sentences ORDER BY row")
        spans: list[list[tuple[int, int]]] = [[] for _ in rows]
        for chunk_row, start, end in sentence_rows:
            spans[chunk_row].append((start, end))
    finally:
        db.close()
    # One JSON document for all the rows: 0.3 ms for the full corpus's 8,699, where a json.loads
    # per row took 8 ms (issue 17's start-up).
    metas = json.loads("[" + ",".join(row[-1] for row in rows) + "]")
    chunks = [
        Chunk(cid, doc, title, kind, url, section, text, ordinal, meta)
        for (cid, doc, title, kind, url, section, text, ordinal, _), meta in zip(
            rows, metas, strict=True
        )
    ]
    return chunks, spans


def write_version(index: Path, manifest: Manifest, data: Embedded) -> Path:
    """Write a complete new version beside the old one, then switch CURRENT in one rename."""
    chunks, vectors = data.chunks, data.vectors
    if len(chunks) != len(vectors) or len(data.spans) != len(chunks):
        raise ValueError("one vector and one span list per chunk")
    index.mkdir(parents=True, exist_ok=True)
    # One clock reading: two would let a second boundary fall between them and break the order.
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9)) + f"-{now % 10**9:09d}"
    folder = index / f"v-{stamp}"
    tmp = index / f".tmp-{stamp}"
    tmp.mkdir()
    manifest.created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest.vector_index = choose_vector_index(len(vectors))
    vectors_2d = np.asarray(vectors, dtype=np.float32).reshape(-1, manifest.dimension)
    built = build_vector_index(vectors_2d, manifest.vector_index)
    faiss.write_index(built, str(tmp / "vectors.faiss"))
    db = sqlite3.connect(tmp / "chunks.sqlite")
    with db:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    i,
                    c.chunk_id,
                    c.doc_path,
                    c.title,
                    c.kind,
                    c.url,
                    c.section,
                    c.text,
                    c.ordinal,
                    json.dumps(c.meta),
                )
                for i, c in enumerate(chunks)
            ],
        )
        db.executemany(
            "INSERT INTO sentences (chunk_row, start, end) VALUES (?,?,?)",
            [(i, s, e) for i, spans in enumerate(data.spans) for s, e in spans],
        )
    db.close()
    np.save(tmp / "sentences.npy", data.sentence_vectors.astype(np.float16), allow_pickle=False)
    manifest.format_version = FORMAT_VERSION
    manifest.bm25 = bool(chunks)  # bm25s cannot index nothing; an empty version needs none
    if manifest.bm25:
        lexicon.write(lexicon.build([c.embed_text for c in chunks]), tmp)
    manifest.names = True
    names.write(names.build(chunks), tmp)
    manifest.files = {name: sha256_of(tmp / name) for name in manifest.data_files()}
    (tmp / "manifest.json").write_text(manifest.to_json())
    _fsync_tree(tmp)
    tmp.rename(folder)
    pointer = index / ".CURRENT.tmp"
    pointer.write_text(folder.name + "\n")
    os.replace(pointer, index / "CURRENT")
    _prune(index, keep=folder.name)
    return folder


def _fsync_tree(folder: Path) -> None:
    """Flush a version's files before CURRENT names it, so a power cut cannot leave it empty."""
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())


@contextmanager
def locked(index: Path) -> Iterator[None]:
    """Hold ``<index>/.lock`` so ingests (CLI or API, any process) run one at a time.

    An flock dies with its process, so a killed ingest never leaves the index locked.
    """
    index.mkdir(parents=True, exist_ok=True)
    with (index / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune(index: Path, keep: str) -> None:
    """Keep the live version and the one before it; drop leftovers of crashed runs."""
    versions = sorted(p for p in index.glob("v-*") if p.is_dir())
    for old in versions[:-_KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for tmp in index.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
