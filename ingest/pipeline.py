"""Incremental ingestion: load, chunk and embed only what changed, then switch versions."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunker import Chunk, Chunker
from ingest.embed import Embedder
from ingest.errors import BadDocument, BadInput, CnaiError
from ingest.loaders import SUPPORTED_SUFFIXES, TEXT_VERSION, load_document
from ingest.progress import Progress
from ingest.sentences import sentence_spans
from ingest.store import (
    Embedded,
    IndexVersion,
    Manifest,
    current_version,
    load_index,
    locked,
    write_version,
)

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


def ingest(
    paths: list[Path],
    index: Path,
    embedder: Embedder,
    chunk_tokens: int = 220,
    batch_size: int = 32,
    show_progress: bool = True,
    keep_others: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Index ``paths`` into a new version of ``index``, one ingest at a time per index.

    ``keep_others`` keeps indexed documents that are not under ``paths`` (adding documents
    through the API) instead of removing them (a full sync, as ``cnai ingest`` does).
    ``on_progress(done, total)`` follows the embedding.
    """
    report = IngestReport()
    files = discover(paths, report.skipped)
    if not files:
        raise BadInput(
            "found no supported files in "
            + ", ".join(map(str, paths))
            + f" (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
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
) -> IngestReport:
    chunker = Chunker(embedder.count_tokens, chunk_tokens)
    settings = {**chunker.settings(), "text_version": TEXT_VERSION}
    manifest = Manifest(embedder.model_id, embedder.dimension, settings)
    old = _previous(index, manifest)

    kept: list[Embedded] = []
    fresh: list[Chunk] = []
    for doc_id, file in files.items():
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
        try:
            doc = load_document(file, doc_id)
            chunks = chunker.chunk(doc)
            if not chunks:
                raise BadDocument(f"{doc_id}: no text left after cleaning")
        except BadDocument as exc:
            report.skipped.append(str(exc))
            continue
        fresh += chunks
        manifest.documents[doc_id] = {"sha256": digest, "title": doc.title, "chunks": len(chunks)}
        (report.changed if before else report.added).append(doc_id)
    if old and keep_others:
        for doc_id in sorted(set(old.manifest.documents) - set(manifest.documents)):
            kept.append(old.document(doc_id))
            manifest.documents[doc_id] = old.manifest.documents[doc_id]
    if old:
        report.removed = sorted(set(old.manifest.documents) - set(manifest.documents))
    report.chunks = sum(len(k.chunks) for k in kept) + len(fresh)
    if old and report.up_to_date:
        report.version = old.folder.name
        return report
    if report.chunks == 0:
        raise BadInput("no document could be indexed: " + "; ".join(report.skipped))

    spans = [sentence_spans(c.text) for c in fresh]
    sentences = [
        c.sentence_context(s, e) for c, sp in zip(fresh, spans, strict=True) for s, e in sp
    ]
    texts = [c.embed_text for c in fresh] + sentences
    with Progress(
        "Embedding", total=len(texts), unit="texts", enabled=show_progress, on_advance=on_progress
    ) as bar:
        vecs = embedder.embed(texts, batch_size, bar)
    report.embedded = len(fresh)
    new = Embedded(fresh, vecs[: len(fresh)], spans, vecs[len(fresh) :])
    data = Embedded.concat(kept + [new], embedder.dimension)
    report.version = write_version(index, manifest, data).name
    return report


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
    same = (old.manifest.model, old.manifest.dimension, old.manifest.chunker) == (
        manifest.model,
        manifest.dimension,
        manifest.chunker,
    )
    if not same:
        log.warning(
            "model, chunker or text cleaning changed since the last build; re-embedding all"
        )
        return None
    return old
