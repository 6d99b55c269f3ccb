"""cnai bench: the shared row, section names, the report files and the scaling section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.bench.rows import normalise, row
from eval.bench.scaling import IVF, recall_at_k, replicate, scaling
from eval.bench.suite import BenchConfig, markdown, parse_sections, validate, write
from ingest.store import FLAT, HNSW


def test_row_divides_value_by_baseline_and_keeps_target() -> None:
    r = row("latency", "/v1/search p50", 30.0, "ms", "bare embedding", 15.0, "<= 2x", True)
    assert r["ratio"] == 2.0 and r["target"] == "<= 2x" and r["met"] is True
    assert row("x", "y", 1.0, "s")["ratio"] is None  # no baseline, no ratio


def test_normalise_reads_rows_given_under_figures_with_name() -> None:
    rows = normalise("ingestion", {"figures": [{"name": "throughput", "value": 3.0}]})
    assert rows[0]["figure"] == "throughput" and rows[0]["section"] == "ingestion"
    assert set(rows[0]) >= {"baseline", "baseline_value", "ratio", "target", "met", "unit"}


def test_parse_sections_keeps_suite_order_and_names_unknown_ones() -> None:
    assert parse_sections("memory, serving") == ["serving", "memory"]
    with pytest.raises(ValueError, match="latncy.*choose from serving"):
        parse_sections("serving,latncy")


def test_validate_refuses_a_folder_without_index_before_running(tmp_path: Path) -> None:
    cfg = BenchConfig(index=tmp_path, out=tmp_path / "out", sections=["serving"])
    with pytest.raises(ValueError, match="holds no index"):
        validate(cfg)


def test_report_files_put_each_figure_beside_target_and_baseline(
    tmp_path: Path, tiny_index: Path
) -> None:
    cfg = BenchConfig(index=tiny_index, out=tmp_path)
    rows = [row("latency", "/v1/ask p50", 40.0, "ms", "bare embedding", 10.0, "<= 4x", True)]
    write(cfg, "2026-01-01T00:00:00Z", rows, {"serving": 1.0})
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert saved["rows"] == rows
    line = next(x for x in (tmp_path / "bench.md").read_text().splitlines() if "/v1/ask" in x)
    assert "bare embedding" in line and "<= 4x" in line and "| 4 |" in line
    assert "**no**" in markdown(saved | {"rows": [rows[0] | {"met": False}]})


def test_replicate_makes_unit_jittered_copies_not_duplicates() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(20, 8)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    big = replicate(base, 3)
    assert big.shape == (60, 8)
    assert np.allclose(np.linalg.norm(big, axis=1), 1, atol=1e-5)
    assert np.array_equal(big[:20], base) and not np.allclose(big[20:40], base)
    with pytest.raises(ValueError, match="at least 1"):
        replicate(base, 0)


def test_recall_at_k_counts_shared_ids() -> None:
    exact = np.arange(10).reshape(1, -1)
    assert recall_at_k(exact, exact) == 1.0
    assert recall_at_k(np.array([[0, 1, 2, 3, 4, 90, 91, 92, 93, 94]]), exact) == 0.5


def test_scaling_reports_each_index_type_with_recall_against_flat(
    tiny_index: Path, embedder
) -> None:
    queries = np.vstack([embedder.embed_query(q) for q in ("GPU sharing", "autoscaling")])
    rows = scaling(tiny_index, queries, factors=(1, 2), kinds=(FLAT, HNSW, IVF))
    figures = {(r["section"].split()[1], r["figure"]) for r in rows}
    for kind in (FLAT, HNSW, IVF):
        assert ("2x", f"{kind} search p50") in figures
    recalls = [r for r in rows if r["figure"].endswith("recall@10")]
    assert recalls and all(0.0 <= r["value"] <= 1.0 for r in recalls)
    assert any(r["figure"] == "automatic choice: flat" for r in rows)
