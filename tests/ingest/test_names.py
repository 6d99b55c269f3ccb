"""The corpus names stored at ingest time (names.json) serve as the ones counted at load: the
same unknown names, acronym expansions and heading shares; a format-2 index still counts them
and an ingest run upgrades it without embedding again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest import names
from ingest.embed import Embedder
from ingest.errors import IndexMismatch
from ingest.pipeline import ingest
from ingest.store import FORMAT_VERSION, current_version, load_index
from ingest.text import tokenize
from service.engine import Engine
from service.retrieval import HeadingMatch
from service.schemas import AskRequest, SearchRequest
from service.settings import ServiceSettings
from service.vocabulary import Acronyms, Vocabulary

QUESTIONS = [
    "Does Slurm schedule MIG slices on an H100 with vLLM?",
    "How does MIG isolate tenants on one GPU?",
    "What is cloud native AI for Kubernetes operators?",
    "Any headaches with Kuberntes time-slicing?",
    "Is MPS (Multi-Process Service) memory isolated?",
]


def as_format_2(index: Path) -> None:
    """Turn the live version into what the previous release wrote: no names.json, format 2."""
    folder = current_version(index)
    (folder / names.FILE).unlink()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 2
    del manifest["names"]
    del manifest["files"][names.FILE]
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_stored_names_are_what_the_chunks_give(index_copy: Path, embedder: Embedder):
    version = load_index(index_copy)
    assert version.names is not None and version.manifest.format_version == FORMAT_VERSION
    chunks = version.chunks
    assert version.names == names.build(chunks)
    texts = [c.embed_text for c in chunks]
    stored = Vocabulary([], embedder.word_pieces, words=version.names.words)
    counted = Vocabulary(texts, embedder.word_pieces)
    assert stored.words == counted.words
    for q in QUESTIONS:
        assert stored.unknown_names(q) == counted.unknown_names(q)
    from_counts = Acronyms([], counts=version.names.acronyms)
    assert from_counts.expansions == Acronyms(c.text for c in chunks).expansions
    rows = list(range(len(chunks)))
    for q in QUESTIONS:
        terms = tokenize([q])[0]
        assert HeadingMatch(chunks, version.names.headings).shares(terms, rows) == HeadingMatch(
            chunks
        ).shares(terms, rows)


def test_equally_frequent_long_forms_keep_their_order_through_the_file(tmp_path: Path):
    """Acronyms takes the first of two long forms seen as often: the file must not sort them."""
    counts = names.acronym_counts(
        ["Zeta Engine Service (ZES) runs.", "Zone Edge Scheduler (ZES) too."]
    )
    assert list(counts.found["ZES"]) == ["Zeta Engine Service", "Zone Edge Scheduler"]
    stored = names.Names([], counts, [[], []])
    names.write(stored, tmp_path)
    back = names.read(tmp_path, 2)
    assert list(back.acronyms.found["ZES"]) == ["Zeta Engine Service", "Zone Edge Scheduler"]
    assert (
        Acronyms([], counts=back.acronyms).expansions
        == Acronyms(
            ["Zeta Engine Service (ZES) runs.", "Zone Edge Scheduler (ZES) too."]
        ).expansions
    )


def test_a_format_2_index_counts_the_names_at_load_and_answers_the_same(
    index_copy: Path, tmp_path: Path, embedder: Embedder
):
    old = Path(shutil.copytree(index_copy, tmp_path / "old"))
    as_format_2(old)
    assert load_index(old).names is None
    stored = Engine(ServiceSettings(index=index_copy), embedder)
    counted = Engine(ServiceSettings(index=old), embedder)
    assert stored.acronyms.expansions == counted.acronyms.expansions
    for q in QUESTIONS:
        a, b = (e.search(SearchRequest(query=q, k=4)).results for e in (stored, counted))
        assert [(r.chunk_id, r.score) for r in a] == [(r.chunk_id, r.score) for r in b]
        x, y = (e.ask(AskRequest(question=q)) for e in (stored, counted))
        assert (x.answer, x.abstained) == (y.answer, y.abstained)


def test_ingest_upgrades_a_format_2_index_without_embedding_again(
    index_copy: Path, tiny_corpus: Path, embedder: Embedder
):
    as_format_2(index_copy)
    report = ingest([tiny_corpus], index_copy, embedder, show_progress=False)
    assert report.upgraded and report.up_to_date and report.embedded == 0
    after = load_index(index_copy)
    assert after.manifest.format_version == FORMAT_VERSION and after.names is not None


def test_names_that_disagree_with_the_chunks_are_refused(index_copy: Path):
    folder = current_version(index_copy)
    version = load_index(index_copy)
    assert version.names is not None
    short = names.Names(version.names.words, version.names.acronyms, version.names.headings[1:])
    names.write(short, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]  # so the checksums do not catch it first
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="names.json counts"):
        load_index(index_copy)


def test_a_changed_names_file_fails_its_checksum(index_copy: Path):
    folder = current_version(index_copy)
    data = json.loads((folder / names.FILE).read_text())
    data["words"].append("slurm")
    (folder / names.FILE).write_text(json.dumps(data))
    with pytest.raises(IndexMismatch, match="names.json is corrupt"):
        load_index(index_copy)
