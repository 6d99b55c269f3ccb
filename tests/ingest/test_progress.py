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


def test_a_stream_that_is_not_a_terminal_gets_plain_lines_with_count_rate_and_eta() -> None:
    from io import StringIO

    from rich.console import Console

    stream = StringIO()
    console = Console(file=stream, force_terminal=False)
    with Progress("Reading", total=6, unit="files", console=console, every=0.0) as bar:
        for _ in range(6):
            time.sleep(0.02)
            bar.advance(1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6 and "\x1b" not in stream.getvalue()
    assert lines[2].startswith("Reading: 3/6 files (50%)")
    assert "files/s" in lines[2] and "s left" in lines[2]
    assert lines[-1].startswith("Reading: 6/6 files (100%)") and "left" not in lines[-1]


def test_a_terminal_gets_the_bar_and_no_plain_lines() -> None:
    from io import StringIO

    from rich.console import Console

    stream = StringIO()
    console = Console(file=stream, force_terminal=True, width=100)
    with Progress("Reading", total=6, unit="files", console=console, every=0.0) as bar:
        bar.advance(6)
    out = stream.getvalue()
    assert "Reading" in out and "6/6" in out
    assert "Reading: 6/6 files (100%)" not in out
