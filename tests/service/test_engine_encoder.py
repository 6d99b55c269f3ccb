"""The engine embeds queries with the ONNX export by default, with the torch model's results."""

from __future__ import annotations

from pathlib import Path

from ingest.embed import Embedder
from ingest.onnx_encoder import OnnxEmbedder
from service.engine import Engine
from service.schemas import AskRequest, SearchRequest
from service.settings import ServiceSettings

QUESTIONS = ["How does MIG isolate tenants?", "Why share a GPU?", "What is cloud native AI?"]


def test_the_default_engine_exports_once_and_answers_as_the_torch_engine(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    settings = ServiceSettings(index=tiny_index, model_cache=tmp_path / "models")
    onnx = Engine(settings)
    assert isinstance(onnx.embedder, OnnxEmbedder)
    assert list((tmp_path / "models" / "onnx").glob("*/model.onnx"))
    torch = Engine(settings.model_copy(update={"query_encoder": "torch"}))
    assert isinstance(torch.embedder, Embedder)
    for q in QUESTIONS:
        a, b = (e.search(SearchRequest(query=q, k=3)).results for e in (onnx, torch))
        assert [r.chunk_id for r in a] == [r.chunk_id for r in b]
        assert [round(r.score, 4) for r in a] == [round(r.score, 4) for r in b]
        x, y = (e.ask(AskRequest(question=q)) for e in (onnx, torch))
        assert (x.answer, x.abstained) == (y.answer, y.abstained)
    # a second start reads the cached export
    assert isinstance(Engine(settings).embedder, OnnxEmbedder)
