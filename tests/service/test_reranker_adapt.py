"""`cnai adapt --cross-encoder`: hard negatives from the hybrid retriever, a trained folder that
the cross-encoder backend loads, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ingest.adapt import training_pairs
from ingest.embed import Embedder
from ingest.errors import BadInput
from ingest.store import load_index
from service import schemas
from service.cli import app
from service.engine import Engine, hybrid_retriever
from service.reranker_adapt import (
    TRAINING_FILE,
    hard_negatives,
    neighbourhood,
    train_cross_encoder,
)
from service.rerankers import CrossEncoderReranker
from service.settings import ServiceSettings

runner = CliRunner()


def test_hard_negatives_are_top_ranked_passages_other_than_the_positive_and_its_neighbours(
    tiny_index: Path, embedder: Embedder
) -> None:
    version = load_index(tiny_index)
    retriever = hybrid_retriever(ServiceSettings(index=tiny_index), version, embedder)
    rows_of = {c.embed_text: row for row, c in enumerate(version.chunks)}
    mined = 0
    for query, passage in training_pairs(version):
        positive = {rows_of[passage]}
        ranked = [r for hit in retriever.search(query, k=10) for r in hit.rows]
        negatives = hard_negatives(retriever, query, positive, depth=10, n=3)
        excluded = neighbourhood(version, positive)
        assert not set(negatives) & excluded
        # Best-ranked first: the negatives are the ranking with the excluded rows taken out.
        assert negatives == [r for r in dict.fromkeys(ranked) if r not in excluded][:3]
        mined += bool(negatives) and rows_of[passage] in ranked
    assert mined  # the positive was found by search and still left out


def test_neighbourhood_holds_the_adjacent_chunks_of_the_same_document(tiny_index: Path) -> None:
    version = load_index(tiny_index)
    chunks = version.chunks
    for row, chunk in enumerate(chunks):
        around = neighbourhood(version, {row}) - {row}
        assert all(chunks[i].doc_path == chunk.doc_path for i in around)
        assert all(abs(chunks[i].ordinal - chunk.ordinal) == 1 for i in around)


def test_adapt_cross_encoder_writes_a_folder_the_reranker_backend_loads_and_uses(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    out = tmp_path / "models"
    args = ["adapt", "--cross-encoder", "--index", str(tiny_index), "--out", str(out)]
    result = runner.invoke(app, [*args, "--steps", "3", "--threads", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    record = json.loads((folder / TRAINING_FILE).read_text())
    assert record["steps"] == 3 and record["stopped_by"] == "steps"
    assert record["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert record["index_version"] == load_index(tiny_index).folder.name
    assert record["config"]["seed"] == 0 and record["pairs_used"] == 12
    assert np.isfinite(record["final_loss"])

    passages = [c.embed_text for c in load_index(tiny_index).chunks]
    scores = CrossEncoderReranker(folder).scores("How can pods share one GPU?", passages)
    assert len(scores) == len(passages) and len(set(scores)) > 1

    settings = ServiceSettings(index=tiny_index, reranker="cross-encoder", reranker_model=folder)
    found = Engine(settings, embedder).search(
        schemas.SearchRequest(query="How can pods share one GPU?", k=2)
    )
    assert found.results
    assert "rerank_cross-encoder" in found.timings_ms
    assert "rerank_fallback" not in found.timings_ms


def test_the_same_seed_trains_the_same_model(tiny_index: Path, embedder: Embedder, tmp_path: Path):
    version = load_index(tiny_index)
    retriever = hybrid_retriever(ServiceSettings(index=tiny_index), version, embedder)
    scores = []
    for name in ("a", "b"):
        folder = train_cross_encoder(
            version, retriever, tmp_path / name, steps=1, show_progress=False
        )
        scores.append(
            CrossEncoderReranker(folder).scores("GPU sharing", ["MPS lets processes share"])
        )
    assert scores[0] == pytest.approx(scores[1], abs=1e-5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "0"], "--steps"),
        (["--minutes", "-1"], "--minutes"),
        (["--epochs", "2"], "--epochs is for the embedder"),
    ],
)
def test_adapt_cross_encoder_refuses_bad_numbers(
    tiny_index: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    args = ["adapt", "--cross-encoder", "--index", str(tiny_index), "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_steps_without_cross_encoder_is_refused(tiny_index: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["adapt", "--index", str(tiny_index), "--steps", "5"])
    assert result.exit_code == 2
    assert "add it" in result.output


def test_adapt_cross_encoder_of_a_missing_index_says_so(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["adapt", "--cross-encoder", "--index", str(tmp_path / "none"), "--steps", "1"]
    )
    assert result.exit_code == 2
    assert "error" in result.output and str(tmp_path / "none") in result.output
    assert "Traceback" not in result.output


def test_adapt_cross_encoder_into_an_unwritable_place_fails_before_training(
    tiny_index: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = runner.invoke(
        app,
        ["adapt", "--cross-encoder", "--index", str(tiny_index), "--out", str(blocker / "models")],
    )
    assert result.exit_code == 2
    assert "cannot create output folder" in result.output
    assert not (blocker.parent / "models").exists()


def test_train_cross_encoder_rejects_bad_numbers_when_called_directly(
    tiny_index: Path, embedder: Embedder, tmp_path: Path
) -> None:
    version = load_index(tiny_index)
    retriever = hybrid_retriever(ServiceSettings(index=tiny_index), version, embedder)
    for bad in ({"steps": 0}, {"minutes": 0}, {"threads": 0}):
        with pytest.raises(BadInput):
            train_cross_encoder(version, retriever, tmp_path, **bad)  # type: ignore[arg-type]
