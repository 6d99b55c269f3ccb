"""The hybrid retriever behind LangChain's retriever interface, over a real index."""

from __future__ import annotations

from pathlib import Path

from langchain_core.documents import Document

from service import schemas
from service.engine import Engine
from service.langchain_retriever import CnaiRetriever


def test_invoke_returns_ranked_documents_with_their_sources(engine: Engine) -> None:
    docs = CnaiRetriever(engine=engine, k=3).invoke("partition a GPU into isolated slices")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert "MIG" in top.page_content or "Multi-Instance GPU" in top.page_content
    assert top.metadata["path"] == "notes/gpu-sharing.md"
    assert top.metadata["url"] == "https://example.org/notes/gpu-sharing"
    assert top.id
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)


def test_filters_apply_as_on_the_api(engine: Engine) -> None:
    only = schemas.Filters(kind="glossary")
    docs = CnaiRetriever(engine=engine, k=5, filters=only).invoke("GPU sharing")
    assert docs and {d.metadata["kind"] for d in docs} == {"glossary"}


def test_batch_runs_several_queries(engine: Engine) -> None:
    retriever = CnaiRetriever(engine=engine, k=1)
    first, second = retriever.batch(["isolated GPU slices", "what cloud native AI means"])
    assert first[0].metadata["path"] == "notes/gpu-sharing.md"
    assert second[0].metadata["path"] == "notes/cloud-native-ai.md"


def test_from_index_loads_the_model_the_index_was_built_with(tiny_index: Path) -> None:
    docs = CnaiRetriever.from_index(tiny_index, k=1).invoke("What does scaling to zero cost?")
    assert docs[0].metadata["path"] == "notes/model-serving.md"
