"""Progress on long work: a bar on a terminal, plain lines into a pipe or log."""

from __future__ import annotations

import time

import pytest

from ingest.progress import Progress


def test_into_a_pipe_a_line_is_printed_every_interval_with_rate_and_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Progress("Embedding", total=40, unit="texts", every=0.02) as bar:
        for _ in range(20):
            time.sleep(0.03)
            bar.advance(2)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 20
    assert lines[0].startswith("Embedding: 2/40 texts (5%)")
    assert "texts/s" in lines[5] and "s left" in lines[5]
    assert lines[-1].startswith("Embedding: 40/40 texts (100%)")


def test_into_a_pipe_fast_work_prints_only_its_last_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Progress("Embedding", total=40, unit="texts") as bar:
        for _ in range(20):
            bar.advance(2)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [lines[-1]] and lines[-1].startswith("Embedding: 40/40 texts (100%)")


def test_disabled_progress_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("Embedding", total=10, enabled=False) as bar:
        bar.advance(10)
    assert capsys.readouterr().err == ""
