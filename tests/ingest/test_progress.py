"""Progress on long work: a bar on a terminal, plain lines into a pipe or log."""

from __future__ import annotations

import pytest

from ingest.progress import Progress


def test_into_a_pipe_a_line_is_printed_at_every_tenth(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("Embedding", total=40, unit="texts") as bar:
        for _ in range(20):
            bar.advance(2)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("Embedding: 4/40 texts (10%)")
    assert lines[-1].startswith("Embedding: 40/40 texts (100%)")


def test_disabled_progress_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress("Embedding", total=10, enabled=False) as bar:
        bar.advance(10)
    assert capsys.readouterr().err == ""
