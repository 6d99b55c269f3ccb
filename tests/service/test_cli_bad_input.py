"""Bad-input matrix of the ``cnai`` command line: each case exits non-zero with one clear line.

Commands run in process (typer's CliRunner) with the real engine, embedder and index; an index
given to a command that fails still holds every document it held before.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.errors import CnaiError
from ingest.store import load_index
from service.cli import app

runner = CliRunner()
Q = "What is Multi-Instance GPU?"


def _corrupt(index: Path) -> None:
    """Garble every file of the live version (manifest, vectors, chunks)."""
    version = index / (index / "CURRENT").read_text().strip()
    for f in version.rglob("*"):
        if f.is_file():
            f.write_bytes(b"\x00garbage\xff" * 10)


def _junk_file(tmp: Path) -> Path:
    path = tmp / "junk.md"
    path.write_bytes(bytes(range(256)) * 64)
    return path


def _escape_only(tmp: Path) -> Path:
    (tmp / "outside.md").write_text("# Secret\n\nThis note lives outside the ingested folder.\n")
    folder = tmp / "docs"
    folder.mkdir()
    (folder / "link.md").symlink_to(tmp / "outside.md")
    return folder


def _docs(tmp: Path) -> Path:
    folder = tmp / "notes"
    folder.mkdir()
    (folder / "mig.md").write_text("# MIG\n\nMulti-Instance GPU splits one card in parts.\n")
    return folder


_HELD: list[socket.socket] = []


def _busy_port() -> int:
    """A loopback port another socket listens on for the rest of the session."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    _HELD.append(sock)
    return int(sock.getsockname()[1])


# (id, argv builder given (index copy, tmp folder), words the error line must hold)
Argv = Callable[[Path, Path], list[str]]
CASES: list[tuple[str, Argv, str]] = [
    ("ask_empty", lambda i, t: ["ask", "", "--index", str(i)], "question: String should have"),
    ("ask_blank", lambda i, t: ["ask", " \t\n ", "--index", str(i)], "question must not be empty"),
    ("ask_huge", lambda i, t: ["ask", "gpu " * 1000, "--index", str(i)], "at most 2000"),
    ("ask_nul", lambda i, t: ["ask", "what\x00is MIG", "--index", str(i)], "NUL"),
    ("ask_k_zero", lambda i, t: ["ask", Q, "--k", "0", "--index", str(i)], "--k"),
    ("ask_k_negative", lambda i, t: ["ask", Q, "--k", "-1", "--index", str(i)], "--k"),
    ("ask_k_huge", lambda i, t: ["ask", Q, "--k", "100000", "--index", str(i)], "--k"),
    ("ask_k_word", lambda i, t: ["ask", Q, "--k", "five", "--index", str(i)], "--k"),
    ("ask_mode", lambda i, t: ["ask", Q, "--mode", "telepathy", "--index", str(i)], "extractive"),
    ("ask_no_index", lambda i, t: ["ask", Q, "--index", str(t / "none")], "cnai ingest"),
    (
        "ask_corrupt_index",
        lambda i, t: (_corrupt(i), ["ask", Q, "--index", str(i)])[1],
        "cnai ingest",
    ),
    ("search_empty", lambda i, t: ["search", "", "--index", str(i)], "query: String should have"),
    ("search_nul", lambda i, t: ["search", "a\x00b", "--index", str(i)], "NUL"),
    ("search_k_zero", lambda i, t: ["search", "gpu", "--k", "0", "--index", str(i)], "--k"),
    ("search_k_word", lambda i, t: ["search", "gpu", "--k", "x", "--index", str(i)], "--k"),
    ("search_no_index", lambda i, t: ["search", "gpu", "--index", str(t / "none")], "cnai ingest"),
    (
        "search_corrupt_index",
        lambda i, t: (_corrupt(i), ["search", "gpu", "--index", str(i)])[1],
        "cnai ingest",
    ),
    (
        "ingest_missing_path",
        lambda i, t: ["ingest", str(t / "nowhere"), "--index", str(i)],
        "no such file or folder",
    ),
    (
        "ingest_binary_junk",
        lambda i, t: ["ingest", str(_junk_file(t)), "--index", str(i)],
        "junk.md",
    ),
    (
        "ingest_symlink_out",
        lambda i, t: ["ingest", str(_escape_only(t)), "--index", str(i)],
        "link.md",
    ),
    (
        "ingest_index_is_a_file",
        lambda i, t: ["ingest", str(_docs(t)), "--index", str(i / "CURRENT")],
        "--index",
    ),
    (
        "ingest_index_unwritable",
        lambda i, t: ["ingest", str(_docs(t)), "--index", "/proc/cnai-index"],
        "/proc/cnai-index",
    ),
    ("serve_port_zero", lambda i, t: ["serve", "--index", str(i), "--port", "0"], "PORT"),
    ("serve_port_high", lambda i, t: ["serve", "--index", str(i), "--port", "70000"], "PORT"),
    ("serve_port_word", lambda i, t: ["serve", "--index", str(i), "--port", "http"], "--port"),
    ("serve_host_blank", lambda i, t: ["serve", "--index", str(i), "--host", " "], "HOST"),
    ("serve_host_bad", lambda i, t: ["serve", "--index", str(i), "--host", "a b/c"], "--host"),
    (
        "serve_host_not_local",
        lambda i, t: ["serve", "--index", str(i), "--host", "192.0.2.1", "--port", "8000"],
        "cannot listen on 192.0.2.1:8000",
    ),
    (
        "serve_port_in_use",
        lambda i, t: ["serve", "--index", str(i), "--port", str(_busy_port())],
        "another --port",
    ),
    (
        "eval_missing_dataset",
        lambda i, t: ["eval", "--dataset", str(t / "none.jsonl"), "--index", str(i)],
        "none.jsonl",
    ),
]

_BOX = re.compile(r"[│╭╮╰╯─]")


def _error_lines(output: str) -> list[str]:
    lines = [" ".join(_BOX.sub(" ", line).split()) for line in output.splitlines()]
    return [line for line in lines if re.match(r"(error:|Invalid value|Missing)", line)]


@pytest.mark.parametrize(("argv", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_command_exits_non_zero_with_one_clear_line(
    index_copy: Path, tmp_path: Path, argv: Argv, words: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    args = argv(index_copy, work)
    before = _documents(index_copy)  # None when the case corrupted the index on purpose
    result = runner.invoke(app, args, env={"COLUMNS": "200", "CNAI_FEEDBACK_DB": str(work / "f")})
    output = result.output
    assert result.exit_code not in (0, None), output
    assert "Traceback" not in output and not isinstance(result.exception, AssertionError), output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    found = _error_lines(output)
    assert len(found) == 1, output
    assert words in found[0], found[0]
    if before is not None:
        assert _documents(index_copy) == before


def _documents(index: Path) -> list[str] | None:
    try:
        return sorted(load_index(index).manifest.documents)
    except CnaiError:
        return None
