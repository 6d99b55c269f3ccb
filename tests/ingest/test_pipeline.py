"""Incremental ingestion embeds only what changed and never leaves a broken index behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import Embedder, SentencePooling
from ingest.errors import BadInput
from ingest.loaders import TEXT_VERSION
from ingest.pipeline import discover, ingest
from ingest.store import POOLED, STANDALONE, load_index

SERVING = "notes/model-serving.md"


def corpus_copy(tiny_corpus: Path, tmp_path: Path) -> Path:
    """A copy named like the original, so its documents keep the ids tiny_index knows."""
    return Path(shutil.copytree(tiny_corpus, tmp_path / tiny_corpus.name))


def run(folder: Path, index: Path, embedder: Embedder, **kwargs):
    return ingest([folder], index, embedder, show_progress=False, **kwargs)


class ExplodingEmbedder(Embedder):
    """The shared model, but embedding fails as if the process crashed mid-run."""

    def __init__(self, inner: Embedder) -> None:
        self.__dict__.update(inner.__dict__)

    def embed(self, texts, batch_size=32, progress=None):
        raise RuntimeError("simulated crash while embedding")

    def embed_with_sentences(self, *args, **kwargs):
        raise RuntimeError("simulated crash while embedding")


def test_first_run_adds_every_document(tiny_corpus: Path, embedder: Embedder, tmp_path: Path):
    report = run(tiny_corpus, tmp_path / "index", embedder)
    docs = sorted(f"notes/{p.name}" for p in tiny_corpus.glob("*.md"))
    assert report.added == docs
    assert not (report.changed or report.removed or report.unchanged or report.skipped)
    loaded = load_index(tmp_path / "index", expect_model=embedder.model_id)
    assert report.embedded == report.chunks == len(loaded.chunks)
    assert sorted(loaded.manifest.documents) == docs
    assert {c.doc_path for c in loaded.chunks} == set(docs)
    assert loaded.folder.name == report.version
    assert sum(len(s) for s in loaded.spans) == len(loaded.sentence_vectors) > 0


def test_rerun_on_an_unchanged_folder_embeds_nothing(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    before = load_index(index_copy).folder.name
    report = run(corpus_copy(tiny_corpus, tmp_path), index_copy, embedder)
    assert report.embedded == 0
    assert report.up_to_date
    assert len(report.unchanged) == 4
    assert report.version == before
    assert sorted(p.name for p in index_copy.glob("v-*")) == [before]


def test_changing_one_file_reembeds_only_its_chunks(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    old = load_index(index_copy)
    folder = corpus_copy(tiny_corpus, tmp_path)
    path = folder / "model-serving.md"
    path.write_text(path.read_text().replace("Canary rollouts", "Blue-green rollouts"))

    report = run(folder, index_copy, embedder)
    new = load_index(index_copy)
    assert report.changed == [SERVING]
    assert len(report.unchanged) == 3
    assert report.embedded == len(new.document(SERVING).chunks)
    assert new.folder != old.folder
    assert any("Blue-green rollouts" in c.text for c in new.chunks)
    assert not any("Canary rollouts" in c.text for c in new.chunks)
    for doc in old.manifest.documents:
        if doc == SERVING:
            continue
        kept, before = new.document(doc), old.document(doc)
        assert kept.chunks == before.chunks
        assert np.array_equal(kept.vectors, before.vectors)
        assert np.array_equal(kept.sentence_vectors, before.sentence_vectors)


def test_deleting_a_file_removes_its_chunks(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    folder = corpus_copy(tiny_corpus, tmp_path)
    (folder / "model-serving.md").unlink()
    report = run(folder, index_copy, embedder)
    assert report.removed == [SERVING]
    assert report.embedded == 0
    new = load_index(index_copy)
    assert SERVING not in new.manifest.documents
    assert all(c.doc_path != SERVING for c in new.chunks)
    assert new.vectors.ntotal == len(new.chunks) == report.chunks


def test_unreadable_files_are_skipped_with_one_message_each(
    tiny_corpus: Path, embedder: Embedder, tmp_path: Path
):
    folder = corpus_copy(tiny_corpus, tmp_path)
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
    (folder / "empty.md").write_bytes(b"")
    (folder / "latin1.md").write_bytes("## Café\n\nUne note écrite en Latin-1.".encode("latin-1"))
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")  # unsupported: not even a message

    report = run(folder, tmp_path / "index", embedder)
    assert len(report.skipped) == 3
    for name in ("binary.txt", "empty.md", "latin1.md"):
        assert sum(m.startswith(f"notes/{name}: ") for m in report.skipped) == 1
    assert len(report.added) == 4
    assert {c.doc_path for c in load_index(tmp_path / "index").chunks} == set(report.added)


def test_nonexistent_path_raises_bad_input(embedder: Embedder, tmp_path: Path):
    with pytest.raises(BadInput, match="no such file"):
        run(tmp_path / "missing", tmp_path / "index", embedder)


def test_folder_without_supported_files_raises_bad_input(embedder: Embedder, tmp_path: Path):
    folder = tmp_path / "assets"
    folder.mkdir()
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "script.py").write_text("print('hello')\n")
    with pytest.raises(BadInput, match="no supported files"):
        run(folder, tmp_path / "index", embedder)
    assert not (tmp_path / "index").exists()


def test_crash_while_embedding_leaves_the_old_index_loadable(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    old = load_index(index_copy)
    folder = corpus_copy(tiny_corpus, tmp_path)
    path = folder / "model-serving.md"
    path.write_text(path.read_text().replace("Canary rollouts", "Blue-green rollouts"))

    with pytest.raises(RuntimeError, match="simulated crash"):
        run(folder, index_copy, ExplodingEmbedder(embedder))
    after = load_index(index_copy)
    assert after.folder == old.folder
    assert after.chunks == old.chunks
    assert any("Canary rollouts" in c.text for c in after.chunks)
    assert sorted(p.name for p in index_copy.glob("v-*")) == [old.folder.name]


def test_changing_chunk_tokens_reembeds_everything(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    old = load_index(index_copy)
    report = run(corpus_copy(tiny_corpus, tmp_path), index_copy, embedder, chunk_tokens=48)
    new = load_index(index_copy)
    assert report.embedded == report.chunks == len(new.chunks)
    assert len(new.chunks) > len(old.chunks)
    assert new.manifest.chunker["chunk_tokens"] == 48
    assert sorted(new.manifest.documents) == sorted(old.manifest.documents)


def test_an_index_from_older_text_cleaning_is_rebuilt_in_full(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    version = index_copy / (index_copy / "CURRENT").read_text().strip()
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["chunker"]["text_version"] = TEXT_VERSION - 1
    (version / "manifest.json").write_text(json.dumps(manifest))
    report = run(corpus_copy(tiny_corpus, tmp_path), index_copy, embedder)
    assert report.embedded == report.chunks > 0
    assert load_index(index_copy).manifest.chunker["text_version"] == TEXT_VERSION


def test_discover_skips_symlinks_that_leave_the_folder(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nNot part of the corpus.\n")
    (outside / "dir").mkdir()
    (outside / "dir" / "more.md").write_text("# More\n\nAlso outside.\n")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "kept.md").write_text("# Kept\n\nInside the folder.\n")
    (root / "inner.md").symlink_to(root / "kept.md")
    (root / "leak.md").symlink_to(outside / "secret.md")
    (root / "leakdir").symlink_to(outside / "dir", target_is_directory=True)
    found = discover([root])
    assert sorted(found) == ["docs/inner.md", "docs/kept.md"]


def test_pooled_sentence_vectors_line_up_with_their_own_sentences(
    tiny_corpus: Path, embedder: Embedder, tmp_path: Path
):
    run(tiny_corpus, tmp_path / "p", embedder)
    pooled = load_index(tmp_path / "p")
    run(tiny_corpus, tmp_path / "s", embedder, sentence_vectors=STANDALONE)
    alone = load_index(tmp_path / "s")
    assert pooled.spans == alone.spans
    assert pooled.manifest.sentence_vectors["method"] == POOLED
    assert alone.manifest.sentence_vectors == {"method": STANDALONE}
    # A pooled vector is closer to its own sentence embedded alone than to the sentence next to
    # it: the spans, shifted past the breadcrumb, point at the right tokens.
    own, next_one = [], []
    for row in range(len(pooled.chunks)):
        _, p = pooled.sentences(row)
        _, a = alone.sentences(row)
        if len(p) > 1:
            sims = p @ a.T
            own += list(np.diag(sims))
            next_one += list(np.diag(sims, 1)) + list(np.diag(sims, -1))
    assert len(own) > 10
    assert np.mean(own) > np.mean(next_one) + 0.1, (np.mean(own), np.mean(next_one))


def test_changing_how_sentence_vectors_are_made_reembeds_everything(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder
):
    report = run(tiny_corpus, index_copy, embedder, pooling=SentencePooling(heading_weight=0.5))
    assert report.embedded == report.chunks and not report.unchanged
    assert load_index(index_copy).manifest.sentence_vectors["heading_weight"] == 0.5
    report = run(tiny_corpus, index_copy, embedder, sentence_vectors=STANDALONE)
    assert report.embedded == report.chunks


def test_an_unknown_sentence_vector_method_is_refused(
    tiny_corpus: Path, embedder: Embedder, tmp_path: Path
):
    with pytest.raises(BadInput, match="sentence_vectors must be"):
        run(tiny_corpus, tmp_path / "index", embedder, sentence_vectors="bogus")


def test_ingest_into_a_pipe_reports_reading_and_embedding_progress(
    tiny_corpus: Path, embedder: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    ingest([tiny_corpus], tmp_path / "index", embedder, show_progress=True)
    err = capsys.readouterr().err
    assert "Reading: 4/4 files (100%)" in err
    assert "Embedding: " in err and " chunks (100%)" in err
