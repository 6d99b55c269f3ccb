"""`--store milvus` keeps hybrid retrieval whole: BM25, filters and eval scores as over FAISS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.embed import Embedder
from ingest.errors import IndexNotFound
from ingest.store import load_index
from service.engine import Engine
from service.retrieval import Filters
from service.settings import ServiceSettings

pytest.importorskip("milvus_lite", reason="pymilvus and milvus-lite are in the dev extra")

from ingest.milvus import MilvusDense, load_version  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# The first questions of the locked test split: enough to catch a ranking that drifts.
EVAL_QUESTIONS = 24


def engines(index: Path, embedder: Embedder, tmp_path: Path) -> tuple[Engine, Engine]:
    uri = str(tmp_path / "milvus.db")
    load_version(load_index(index), uri)
    faiss_engine = Engine(ServiceSettings(index=index), embedder)
    milvus_engine = Engine(ServiceSettings(index=index, store="milvus", milvus_uri=uri), embedder)
    return faiss_engine, milvus_engine


def ranked(engine: Engine, query: str, filters: Filters | None = None) -> list[tuple[str, str]]:
    return [
        (h.chunk.doc_path, h.chunk.chunk_id) for h in engine.retriever.search(query, 5, filters)
    ]


def test_a_milvus_engine_searches_its_collection_and_ranks_like_faiss(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    faiss_engine, milvus_engine = engines(tiny_index, embedder, tmp_path)
    assert isinstance(milvus_engine.retriever.dense, MilvusDense)
    for query in (
        "How do several pods share a GPU?",
        "what does scaling to zero cost the first request",
        "nvidia.com/mig-1g.5gb",  # a resource name: BM25 finds it, the embedding barely does
    ):
        assert ranked(milvus_engine, query) == ranked(faiss_engine, query)


def test_bm25_still_finds_an_exact_term_with_milvus(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    _, milvus_engine = engines(tiny_index, embedder, tmp_path)
    top = milvus_engine.retriever.search("nvidia.com/mig-1g.5gb", 1)[0]
    assert "mig-1g.5gb" in top.chunk.text


def test_filters_mean_the_same_with_milvus(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    faiss_engine, milvus_engine = engines(tiny_index, embedder, tmp_path)
    query = "How do several pods share a GPU?"
    for filters in (
        Filters(document="notes/model-serving.md"),
        Filters(project="notes"),
        Filters(kind="doc"),
        Filters(project="nowhere"),
    ):
        got = ranked(milvus_engine, query, filters)
        assert got == ranked(faiss_engine, query, filters)
        if filters.document:
            assert got and {d for d, _ in got} == {filters.document}
        if filters.project == "nowhere":
            assert got == []


def test_a_milvus_engine_refuses_a_version_that_was_not_loaded(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    settings = ServiceSettings(index=tiny_index, store="milvus", milvus_uri=str(tmp_path / "m.db"))
    with pytest.raises(IndexNotFound, match="cnai milvus load"):
        Engine(settings, embedder)


@pytest.mark.slow  # builds the CNAI index and answers the questions twice
def test_eval_hit_at_5_with_milvus_is_within_001_of_faiss(
    cnai_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    from eval.run import run_eval

    lines = (ROOT / "eval" / "datasets" / "cnai_dev.jsonl").read_text().splitlines()
    test = [line for line in lines if json.loads(line).get("split") == "test"]
    subset = tmp_path / "subset.jsonl"
    subset.write_text("\n".join(test[:EVAL_QUESTIONS]) + "\n")
    faiss_engine, milvus_engine = engines(cnai_index, embedder, tmp_path)
    a = run_eval(subset, faiss_engine, tmp_path / "faiss", 5, False, plots=False, split="test")
    b = run_eval(subset, milvus_engine, tmp_path / "milvus", 5, False, plots=False, split="test")
    assert a.summary["hit@5"] > 0
    assert abs(b.summary["hit@5"] - a.summary["hit@5"]) <= 0.01
    assert [q.first_relevant for q in b.questions] == [q.first_relevant for q in a.questions]
