"""The load section: many clients mixing /v1/search and /v1/ask against a real `cnai serve`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.bench.load import drive, mixed
from service.cli import app

runner = CliRunner()


def test_cnai_bench_load_serves_32_clients_without_an_error(
    tiny_index: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    """Shortened to 8 s; the full run is 60 s. Behaviour only: no timing threshold."""
    out = tmp_path / "bench"
    result = runner.invoke(
        app,
        ["bench", "--index", str(tiny_index), "--out", str(out), "--sections", "load",
         "--dataset", str(tiny_dataset), "--load-seconds", "8", "--load-clients", "32",
         "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CNAI_RATE_LIMIT_PER_MINUTE=0" in result.output  # the output says the limit is off
    rows = json.loads((out / "bench.json").read_text())["rows"]
    by = {r["figure"]: r for r in rows}
    total = next(r for r in rows if r["figure"].startswith("all errors"))
    assert total["value"] == 0, total  # the figure names each error's status
    assert rows[0]["section"].startswith("load (32 clients")
    for route in ("/v1/search", "/v1/ask"):
        assert by[f"{route} requests"]["value"] >= 32, by
        assert by[f"{route} errors"]["value"] == 0 and by[f"{route} errors"]["met"] is True
        assert by[f"{route} p95"]["value"] is not None and by[f"{route} p95"]["value"] > 0
        assert by[f"{route} p99"]["value"] >= by[f"{route} p50"]["value"]
    assert "## load (32 clients" in (out / "bench.md").read_text()


def test_drive_stops_after_max_requests_and_counts_failures_per_route(live_api: str) -> None:
    questions = ["How many partitions can MIG make?"]
    stats, _ = asyncio.run(drive(live_api, 4, 30.0, mixed(questions), max_requests=10))
    assert sum(s.requests for s in stats.values()) == 10
    assert stats["/v1/search"].ok == 5 and stats["/v1/ask"].ok == 5

    def bad(n: int) -> tuple[str, dict[str, object]]:
        return "/v1/search", {"query": ""}

    stats, _ = asyncio.run(drive(live_api, 2, 30.0, bad, max_requests=4))
    assert stats["/v1/search"].errors == 4 and stats["/v1/search"].statuses == {"422": 4}


@pytest.mark.parametrize("args", [(0, 1.0), (4, 0.0), (4, -1.0)])
def test_drive_refuses_a_load_without_clients_or_time(args: tuple[int, float]) -> None:
    with pytest.raises(ValueError, match="clients must be"):
        asyncio.run(drive("http://127.0.0.1:9", args[0], args[1], mixed(["q"])))


def test_bench_refuses_a_load_longer_than_an_hour(tiny_index: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["bench", "--index", str(tiny_index), "--out", str(tmp_path), "--sections", "load",
         "--load-seconds", "100000"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "--load-seconds" in result.output
