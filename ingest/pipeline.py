"""Incremental ingestion: load, chunk and embed only what changed, then switch versions."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunker import Chunk, Chunker
from ingest.documents import SourceDocument
from ingest.embed import DEFAULT_POOLING, Embedder, SentencePooling
from ingest.errors import BadDocument, BadInput, CnaiError
from ingest.loaders import SUPPORTED_SUFFIXES, TEXT_VERSION, load_document
from ingest.progress import Progress
from ingest.store import (
    FORMAT_VERSION,
    POOLED,
    STANDALONE,
    Embedded,
    IndexVersion,
    Manifest,
    current_version,
    load_index,
    locked,
    write_version,
)
from ingest.text import sentence_spans

log = logging.getLogger(__name__)

_SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", "var"}


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: reason"
    chunks: int = 0
    embedded: int = 0
    version: str = ""
    upgraded: bool = False  # an older index format rewritten in the current one

    @property
    def up_to_date(self) -> bool:
        return not (self.added or self.changed or self.removed)


def discover(paths: Iterable[Path], skipped: list[str] | None = None) -> dict[str, Path]:
    """Map each document id (path relative to the given folder's parent) to its file.

    Nothing outside a given folder is read: a symlink whose target leaves it is skipped, with
    its reason added to ``skipped``.
    """
    found: dict[str, Path] = {}
    for given in paths:
        path = given.expanduser()
        if not path.exists():
            raise BadInput(f"{given}: no such file or folder")
        if path.is_file():
            found[path.name] = path
            continue
        root = path.resolve()
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root)
            if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
                continue
            if not file.is_file() or file.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if not file.resolve().is_relative_to(root):
                # A link out of the folder would index files nobody asked for (e.g. /etc).
                reason = f"{root.name}/{rel.as_posix()}: a symlink that leaves {root}; not read"
                log.warning("skipped %s", reason)
                if skipped is not None:
                    skipped.append(reason)
                continue
            found[f"{root.name}/{rel.as_posix()}"] = file
    return found


# What building one document gave: its title and embedded chunks, or why it was skipped.
Built = tuple[str, Embedded] | str
# Builds the documents given as (doc_id, file): in this process, or on Ray (ingest/ray_engine.py).
Builder = Callable[[list[tuple[str, Path]]], dict[str, Built]]


def ingest(
    paths: list[Path],
    index: Path,
    embedder: Embedder,
    chunk_tokens: int = 220,
    batch_size: int = 32,
    show_progress: bool = True,
    sentence_vectors: str = POOLED,
    pooling: SentencePooling = DEFAULT_POOLING,
    builder: Builder | None = None,
    keep_others: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Index ``paths`` into a new version of ``index``, one ingest at a time per index,
    embedding only documents that are new or changed.

    ``builder`` loads, chunks and embeds the new and changed documents (default: here).
    ``sentence_vectors`` is ``POOLED`` (each sentence's vector pooled from its chunk's one
    forward pass, as ``pooling`` says) or ``STANDALONE`` (every sentence embedded again on its
    own under its heading: twice the work, kept as the baseline it is measured against).
    ``keep_others`` keeps indexed documents that are not under ``paths`` (adding documents
    through the API) instead of removing them (a full sync, as ``cnai ingest`` does).
    ``on_progress(done, total)`` follows the embedding.
    """
    if sentence_vectors not in (POOLED, STANDALONE):
        raise BadInput(f"sentence_vectors must be {POOLED!r} or {STANDALONE!r}")
    report = IngestReport()
    files = discover(paths, report.skipped)
    if not files:
        raise BadInput(
            "found no supported files in "
            + ", ".join(map(str, paths))
            + f" (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
            + "".join(f"; skipped {reason}" for reason in report.skipped)
        )
    with locked(index):
        return _ingest(
            report,
            files,
            index,
            embedder,
            chunk_tokens,
            batch_size,
            show_progress,
            keep_others,
            on_progress,
            sentence_vectors,
            pooling,
            builder,
        )


def _ingest(
    report: IngestReport,
    files: dict[str, Path],
    index: Path,
    embedder: Embedder,
    chunk_tokens: int,
    batch_size: int,
    show_progress: bool,
    keep_others: bool,
    on_progress: Callable[[int, int], None] | None,
    sentence_vectors: str,
    pooling: SentencePooling,
    builder: Builder | None,
) -> IngestReport:
    chunker = Chunker(embedder.count_tokens, chunk_tokens)
    settings = {**chunker.settings(), "text_version": TEXT_VERSION}
    method = {"method": sentence_vectors}
    if sentence_vectors == POOLED:
        method |= pooling.settings()
    manifest = Manifest(embedder.model_id, embedder.dimension, settings, sentence_vectors=method)
    old = _previous(index, manifest)

    kept: list[Embedded] = []
    todo: list[tuple[str, Path]] = []
    digests: dict[str, tuple[str, bool]] = {}  # doc_id -> (sha256, was indexed before)
    # Hashing a large corpus takes a while too: count files as they are opened.
    reading = Progress("Reading", total=len(files), unit="files", enabled=show_progress)
    with reading:
        for doc_id, file in files.items():
            reading.advance(1)
            try:
                digest = hashlib.sha256(file.read_bytes()).hexdigest()
            except OSError as exc:
                report.skipped.append(f"{doc_id}: cannot read ({exc.strerror})")
                continue
            before = old.manifest.documents.get(doc_id) if old else None
            if old and before and before["sha256"] == digest:
                kept.append(old.document(doc_id))
                manifest.documents[doc_id] = before
                report.unchanged.append(doc_id)
                continue
            todo.append((doc_id, file))
            digests[doc_id] = (digest, before is not None)
    if builder is None:

        def builder(docs: list[tuple[str, Path]]) -> dict[str, Built]:
            return build_documents(
                docs, chunker, embedder, batch_size, show_progress, sentence_vectors, pooling,
                on_progress,
            )  # fmt: skip

    built = builder(todo) if todo else {}
    fresh: list[Embedded] = []
    for doc_id, _ in todo:  # discovery order, whatever order the builder finished in
        outcome = built[doc_id]
        if isinstance(outcome, str):
            report.skipped.append(outcome)
            continue
        title, part = outcome
        fresh.append(part)
        digest, existed = digests[doc_id]
        manifest.documents[doc_id] = {"sha256": digest, "title": title, "chunks": len(part.chunks)}
        (report.changed if existed else report.added).append(doc_id)
    if old and keep_others:
        for doc_id in sorted(set(old.manifest.documents) - set(manifest.documents)):
            kept.append(old.document(doc_id))
            manifest.documents[doc_id] = old.manifest.documents[doc_id]
    if old:
        report.removed = sorted(set(old.manifest.documents) - set(manifest.documents))
    report.chunks = sum(len(k.chunks) for k in kept + fresh)
    if old and report.up_to_date and old.manifest.format_version == FORMAT_VERSION:
        report.version = old.folder.name
        return report
    report.upgraded = bool(old and old.manifest.format_version != FORMAT_VERSION)
    if report.chunks == 0:
        raise BadInput("no document could be indexed: " + "; ".join(report.skipped))
    report.embedded = sum(len(f.chunks) for f in fresh)
    data = Embedded.concat(kept + fresh, embedder.dimension)
    report.version = write_version(index, manifest, data).name
    return report


def _heading_span(chunk: Chunk, crumb_end: int) -> tuple[int, int]:
    """Where the chunk's own heading sits in the breadcrumb that leads its ``embed_text``."""
    heading = chunk.section.rsplit(" > ", 1)[-1]
    at = chunk.embed_text.rfind(heading, 0, crumb_end) if heading else -1
    return (at, at + len(heading)) if at >= 0 else (0, 0)


def load_chunks(file: Path, doc_id: str, chunker: Chunker) -> tuple[SourceDocument, list[Chunk]]:
    """One document read and cut into chunks; BadDocument when nothing indexable is left."""
    doc = load_document(file, doc_id)
    chunks = chunker.chunk(doc)
    if not chunks:
        raise BadDocument(f"{doc_id}: no text left after cleaning")
    return doc, chunks


def embed_chunks(
    chunks: list[Chunk],
    embedder: Embedder,
    batch_size: int = 32,
    show_progress: bool = False,
    sentence_vectors: str = POOLED,
    pooling: SentencePooling = DEFAULT_POOLING,
    on_progress: Callable[[int, int], None] | None = None,
) -> Embedded:
    """The vectors of chunks and of their sentences (see ``ingest``'s ``sentence_vectors``)."""
    spans = [sentence_spans(c.text) for c in chunks]
    sentences = [
        [c.sentence_context(s, e) for s, e in sp] for c, sp in zip(chunks, spans, strict=True)
    ]
    texts = [c.embed_text for c in chunks]
    if sentence_vectors == POOLED:
        # Spans are in chunk text; the embedded text leads with the breadcrumb, so shift them.
        shifts = [len(c.embed_text) - len(c.text) for c in chunks]
        shifted = [[(s + d, e + d) for s, e in sp] for sp, d in zip(spans, shifts, strict=True)]
        headings = [_heading_span(c, d) for c, d in zip(chunks, shifts, strict=True)]
        with Progress(
            "Embedding", len(chunks), unit="chunks", enabled=show_progress, on_advance=on_progress
        ) as bar:
            chunk_vecs, sentence_vecs = embedder.embed_with_sentences(
                texts, shifted, sentences, batch_size, bar, headings, pooling
            )
        return Embedded(chunks, chunk_vecs, spans, sentence_vecs)
    flat = [t for ts in sentences for t in ts]
    total = len(texts) + len(flat)
    with Progress(
        "Embedding", total, unit="texts", enabled=show_progress, on_advance=on_progress
    ) as bar:
        vecs = embedder.embed(texts + flat, batch_size, bar)
    return Embedded(chunks, vecs[: len(texts)], spans, vecs[len(texts) :])


def build_documents(
    docs: list[tuple[str, Path]],
    chunker: Chunker,
    embedder: Embedder,
    batch_size: int = 32,
    show_progress: bool = False,
    sentence_vectors: str = POOLED,
    pooling: SentencePooling = DEFAULT_POOLING,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Built]:
    """Load and chunk each document, embed all their chunks in one pass, split them back."""
    out: dict[str, Built] = {}
    loaded: list[tuple[str, str, list[Chunk]]] = []
    for doc_id, file in docs:
        try:
            doc, chunks = load_chunks(file, doc_id, chunker)
        except BadDocument as exc:
            out[doc_id] = str(exc)
            continue
        loaded.append((doc_id, doc.title, chunks))
    everything = [c for _, _, cs in loaded for c in cs]
    data = embed_chunks(
        everything, embedder, batch_size, show_progress, sentence_vectors, pooling, on_progress
    )
    row = sentence = 0
    for doc_id, title, chunks in loaded:
        spans = data.spans[row : row + len(chunks)]
        n_sentences = sum(len(s) for s in spans)
        out[doc_id] = (
            title,
            Embedded(
                chunks,
                data.vectors[row : row + len(chunks)],
                spans,
                data.sentence_vectors[sentence : sentence + n_sentences],
            ),
        )
        row, sentence = row + len(chunks), sentence + n_sentences
    return out


def _previous(index: Path, manifest: Manifest) -> IndexVersion | None:
    """The live version if its vectors can be reused, else None (a full rebuild)."""
    try:
        current_version(index)
    except CnaiError:
        return None
    try:
        old = load_index(index)
    except CnaiError as exc:
        log.warning("ignoring the existing index (%s); rebuilding from scratch", exc)
        return None
    m = old.manifest
    same = (m.model, m.dimension, m.chunker, m.sentence_vectors) == (
        manifest.model,
        manifest.dimension,
        manifest.chunker,
        manifest.sentence_vectors,
    )
    if not same:
        log.warning(
            "model, chunker, text cleaning or sentence vectors changed since the last build; "
            "re-embedding all"
        )
        return None
    return old
