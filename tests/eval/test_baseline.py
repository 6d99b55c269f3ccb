"""The textbook LangChain baseline over the same documents as the index."""

from __future__ import annotations

import shutil
from pathlib import Path

from eval.baseline import CHUNK_OVERLAP, CHUNK_SIZE, LangChainBaseline, indexed_documents
from ingest.embed import Embedder
from service.engine import Engine


def test_the_index_documents_are_found_below_a_root(engine: Engine, tiny_corpus: Path) -> None:
    files, missing, changed = indexed_documents(
        engine.version, [Path("/nowhere"), tiny_corpus.parent]
    )
    assert sorted(files) == sorted(engine.version.manifest.documents)
    assert (missing, changed) == ([], [])


def test_missing_and_changed_documents_are_reported(
    engine: Engine, tiny_corpus: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(tiny_corpus, tmp_path / "notes"))
    (copy / "gpu-sharing.md").write_text("# Changed\n\nAll different now.\n")
    (copy / "model-serving.md").unlink()
    files, missing, changed = indexed_documents(engine.version, [tmp_path])
    assert missing == ["notes/model-serving.md"]
    assert changed == ["notes/gpu-sharing.md"]
    assert len(files) == 3


def test_the_baseline_retrieves_1000_character_chunks_and_cites_its_top_one(
    engine: Engine, tiny_corpus: Path, embedder: Embedder
) -> None:
    files, _, _ = indexed_documents(engine.version, [tiny_corpus.parent])
    baseline = LangChainBaseline(files, embedder, progress=False)
    assert all(len(p.text) <= CHUNK_SIZE for p in baseline.passages)
    assert len(baseline.passages) > len(files)  # the longer notes are split, with overlap
    out = baseline.run("How many partitions can MIG make of one card?", 5)
    assert len(out.retrieved) == 5 and out.retrieved[0].doc_path == "notes/gpu-sharing.md"
    assert out.answer.endswith(" [1]") and out.citations == out.retrieved[:1]
    assert not out.abstained
    assert {"embed", "retrieve", "answer", "total"} <= set(out.timings_ms)
    assert (
        baseline.describe()["splitter"]
        == f"RecursiveCharacterTextSplitter({CHUNK_SIZE}, {CHUNK_OVERLAP})"
    )
