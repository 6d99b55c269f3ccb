"""The ONNX export embeds queries as the torch model does, is reused, and is refused if altered."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.embed import Embedder
from ingest.errors import IndexMismatch
from ingest.onnx_encoder import (
    OnnxEmbedder,
    Unsupported,
    ensure_export,
    export_folder,
    query_embedder,
)

QUERIES = [
    "How do pods share one GPU with MIG?",
    "KServe",
    "what is time-slicing and why is latency less predictable " * 12,  # past the token limit
]


@pytest.fixture(scope="module")
def exported(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("models")
    ensure_export(embedder, cache)
    return cache


def test_the_export_gives_the_models_vectors_tokens_and_counts(
    embedder: Embedder, exported: Path
) -> None:
    onnx = query_embedder(embedder.model_id, exported, threads=1)
    assert isinstance(onnx, OnnxEmbedder)
    assert onnx.dimension == embedder.dimension
    assert np.allclose(onnx.embed_queries(QUERIES), embedder.embed_queries(QUERIES), atol=1e-5)
    for q in QUERIES:
        assert np.allclose(onnx.embed_query(q), embedder.embed_query(q), atol=1e-5)
        assert onnx.word_pieces(q) == embedder.word_pieces(q)
        assert onnx.count_tokens(q) == embedder.count_tokens(q)
    assert np.allclose(onnx.embed(QUERIES, batch_size=2), embedder.embed(QUERIES), atol=1e-5)


def test_a_cached_export_is_reused_without_loading_torch_again(
    embedder: Embedder, exported: Path
) -> None:
    folder = export_folder(embedder.model_id, exported)
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    assert ensure_export(embedder, exported) == folder
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".tmp")] == []


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json"])
def test_an_altered_export_file_is_refused_naming_it(
    embedder: Embedder, exported: Path, tmp_path: Path, name: str
) -> None:
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(exported, copy)
    path = export_folder(embedder.model_id, copy) / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexMismatch, match=rf"{name} is missing or corrupt"):
        query_embedder(embedder.model_id, copy)


def test_an_export_of_another_model_is_refused(embedder: Embedder, exported: Path) -> None:
    folder = export_folder(embedder.model_id, exported)
    with pytest.raises(IndexMismatch, match="not of 'another/model'"):
        OnnxEmbedder(folder, "another/model")


def test_a_model_that_cannot_export_is_served_by_torch(embedder: Embedder, tmp_path: Path) -> None:
    """A CLS-pooling model: the export (mean pooling only) is refused, torch serves it."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    cls_model = SentenceTransformer(
        modules=[embedder.model[0], Pooling(embedder.dimension, pooling_mode="cls")],
        device="cpu",
    )
    folder = tmp_path / "cls-model"
    cls_model.save(str(folder))
    other = Embedder(str(folder), threads=1)
    with pytest.raises(Unsupported, match="mean pooling"):
        ensure_export(other, tmp_path / "models")
    served = query_embedder(str(folder), tmp_path / "models", threads=1)
    assert isinstance(served, Embedder)
    assert np.allclose(served.embed_query("GPU"), other.embed_query("GPU"))
    assert not any((tmp_path / "models" / "onnx").glob("*/export.json"))


def test_the_export_records_its_model_and_checksums(embedder: Embedder, exported: Path) -> None:
    meta = json.loads((export_folder(embedder.model_id, exported) / "export.json").read_text())
    assert meta["model"] == embedder.model_id
    assert sorted(meta["files"]) == ["model.onnx", "tokenizer.json"]


def test_a_cache_that_cannot_be_written_leaves_the_torch_model_serving(
    embedder: Embedder, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    served = query_embedder(embedder.model_id, blocked, threads=1)
    assert isinstance(served, Embedder)
