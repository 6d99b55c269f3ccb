"""Ingestion reads nothing outside the folder it is given, and says what it skipped and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.embed import Embedder
from ingest.pipeline import discover, ingest
from ingest.store import load_index
from service.cli import app

SYSTEM_FILE = Path("/etc/passwd")


@pytest.fixture
def folder_with_escapes(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.md").write_text("# Private\n\nThe outside note mentions zanzibar.\n")
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "kept.md").write_text("# Kept\n\nAutoscaling adds replicas when queues grow.\n")
    (root / "sub" / "alias.md").symlink_to(root / "kept.md")  # inside: fine
    (root / "passwd.md").symlink_to(SYSTEM_FILE)
    (root / "private.md").symlink_to(outside / "private.md")
    (root / "up.md").symlink_to(Path("..") / "outside" / "private.md")  # relative, via ..
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    return root


def test_discover_gives_one_reason_per_link_that_leaves_the_folder(folder_with_escapes: Path):
    skipped: list[str] = []
    found = discover([folder_with_escapes], skipped)
    assert sorted(found) == ["docs/kept.md", "docs/sub/alias.md"]
    leaving = {line.split(":")[0] for line in skipped}
    assert {"docs/passwd.md", "docs/private.md", "docs/up.md"} <= leaving
    assert all("symlink that leaves" in line and "\n" not in line for line in skipped)


def test_nothing_outside_the_folder_reaches_the_index(
    folder_with_escapes: Path, embedder: Embedder, tmp_path: Path
):
    report = ingest([folder_with_escapes], tmp_path / "index", embedder, show_progress=False)
    version = load_index(tmp_path / "index")
    text = " ".join(c.text for c in version.chunks)
    assert "zanzibar" not in text and "root:" not in text
    assert sorted(version.manifest.documents) == ["docs/kept.md", "docs/sub/alias.md"]
    assert any(line.startswith("docs/passwd.md: a symlink") for line in report.skipped)


def test_cnai_ingest_prints_the_skipped_link_and_its_reason(
    folder_with_escapes: Path, tmp_path: Path
):
    result = CliRunner().invoke(
        app,
        ["ingest", str(folder_with_escapes), "--index", str(tmp_path / "i"), "--no-progress"],
        env={"CNAI_THREADS": "1", "COLUMNS": "400"},
    )
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "passwd.md" in ln]
    assert len(lines) == 1 and "symlink that leaves" in lines[0] and "skipped" in lines[0]
