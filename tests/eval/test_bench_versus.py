"""The side-by-side bench counts a server's CPU time and refuses what it cannot compare."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from eval.bench.versus import cpu_seconds, main


def test_cpu_seconds_grow_with_work_done_by_the_process() -> None:
    before = cpu_seconds(os.getpid())
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.2


def test_a_folder_without_an_index_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit):
        main(
            ["--index", str(tmp_path), "--baseline-code", str(tmp_path), "--baseline-index",
             str(tmp_path), "--out", str(tmp_path / "out")]
        )  # fmt: skip
    assert f"no index at {tmp_path}" in capsys.readouterr().err


def test_a_baseline_that_is_not_a_checkout_is_refused(
    tiny_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit):
        main(
            ["--index", str(tiny_index), "--baseline-code", str(tmp_path), "--baseline-index",
             str(tiny_index), "--out", str(tmp_path / "out")]
        )  # fmt: skip
    assert "is not a checkout of this project" in capsys.readouterr().err
