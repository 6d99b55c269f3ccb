"""Serving benchmark sections against a real `cnai serve` over HTTP on the tiny index."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from eval.bench import serving
from eval.bench.server import Server
from ingest.embed import Embedder

QUESTIONS = ["How many partitions can MIG make?", "What does scaling to zero cost?"]


def test_server_is_ready_over_http_and_reports_start_up_and_memory(tiny_index: Path) -> None:
    with Server(tiny_index) as server:
        assert httpx.get(f"{server.url}/readyz").json()["status"] == "ready"
        assert server.ready_s > 0
        assert server.peak_rss() > 50 * 2**20  # the model alone is larger than this
    assert server.proc is not None and server.proc.poll() is not None  # stopped on exit


def test_server_refuses_a_folder_without_index(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no index at"):
        Server(tmp_path)


def test_latency_rows_compare_search_and_ask_with_bare_embedding(
    tiny_index: Path, embedder: Embedder
) -> None:
    rows = serving.latency(tiny_index, "tiny", QUESTIONS, embedder, None, requests=5)
    by = {r["figure"]: r for r in rows}
    for name in ("/v1/search p50", "/v1/ask p50"):
        assert by[name]["value"] > 0 and isinstance(by[name]["met"], bool)
        assert by[name]["baseline_value"] == by["bare query embedding p50"]["value"]
    assert "/v1/search p99" in by


def test_throughput_with_two_workers_serves_every_request(tiny_index: Path) -> None:
    rows = serving.throughput(tiny_index, QUESTIONS, workers=2, seconds=0.5, clients=(1, 4))
    sections = {r["section"] for r in rows}
    assert sections == {
        "throughput 1 worker, no query batching",
        "throughput 1 worker",
        "throughput 2 workers",
    }
    errors = [r for r in rows if r["figure"].startswith("errors")]
    assert errors and all(r["value"] == 0 for r in errors)
    rates = [r for r in rows if r["unit"] == "req/s"]
    assert all(r["value"] > 0 for r in rates)
