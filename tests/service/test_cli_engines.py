"""`cnai ingest --engine`, `cnai milvus load` and `--store milvus` at the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_an_unknown_engine_is_named_with_the_choices(tiny_corpus: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", str(tiny_corpus), "--index", str(tmp_path / "i"), "--engine", "spark"]
    )
    assert result.exit_code == 2
    assert "--engine must be local or ray" in result.output
    assert "Traceback" not in result.output


def test_an_address_without_the_ray_engine_is_refused(tiny_corpus: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["ingest", str(tiny_corpus), "--index", str(tmp_path / "i"), "--address", "auto"]
    )
    assert result.exit_code == 2
    assert "--address is for --engine ray" in result.output


def test_a_bad_milvus_uri_is_refused_before_anything_loads(tiny_index: Path) -> None:
    result = runner.invoke(
        app,
        ["search", "GPU", "--index", str(tiny_index), "--store", "milvus", "--milvus-uri", "x:1"],
    )
    assert result.exit_code == 2
    assert "milvus-lite file" in result.output


def test_milvus_load_then_search_gives_the_faiss_results(tiny_index: Path, tmp_path: Path) -> None:
    pytest.importorskip("milvus_lite", reason="pymilvus and milvus-lite are in the dev extra")
    index = str(shutil.copytree(tiny_index, tmp_path / "index"))
    uri = str(tmp_path / "milvus.db")
    loaded = runner.invoke(app, ["milvus", "load", "--index", index, "--milvus-uri", uri])
    assert loaded.exit_code == 0, loaded.output
    assert "collection cnai_v_" in loaded.output
    query = ["search", "How do pods share a GPU?", "--index", index, "--json"]
    plain = runner.invoke(app, query)
    milvus = runner.invoke(app, [*query, "--store", "milvus", "--milvus-uri", uri])
    assert plain.exit_code == milvus.exit_code == 0, milvus.output

    def ids(output: str) -> list[str]:
        return [r["chunk_id"] for r in json.loads(output)["results"]]

    assert ids(milvus.stdout) == ids(plain.stdout) != []
