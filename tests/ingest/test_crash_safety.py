"""``kill -9`` during ``cnai ingest`` leaves the previous index serving, and a re-run completes."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.embed import Embedder
from ingest.store import current_version, load_index
from service import schemas
from service.engine import Engine
from service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]


def _synthetic_corpus(folder: Path, files: int = 24, sentences: int = 20) -> Path:
    """Enough made-up notes that embedding them takes seconds, so the kill lands mid-run."""
    folder.mkdir()
    for i in range(files):
        body = " ".join(
            f"Worker pool {i} drains queue {j} before the nightly batch window closes."
            for j in range(sentences)
        )
        (folder / f"pool-{i:02d}.md").write_text(f"# Pool {i}\n\n{body}\n")
    return folder


def _lock_held(index: Path) -> bool:
    try:
        with (index / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except FileNotFoundError:
        return False


def _cnai_ingest(folder: Path, index: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "ingest", str(folder), "--index", str(index)]
        + ["--threads", "1", "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.slow
def test_kill_9_mid_ingest_keeps_the_old_index_serving_and_a_rerun_completes(
    index_copy: Path, embedder: Embedder, tmp_path: Path
):
    old = load_index(index_copy)
    folder = _synthetic_corpus(tmp_path / "pools")
    proc = _cnai_ingest(folder, index_copy)
    deadline = time.monotonic() + 120
    while not _lock_held(index_copy):  # the lock is taken once the files are found
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "cnai ingest never started indexing"
        time.sleep(0.05)
    time.sleep(2.0)  # reading, chunking and embedding 24 files: well before the end
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    # What a kill leaves: the lock file (its flock died with the process), maybe a .tmp-* folder.
    assert not _lock_held(index_copy)
    leftovers = {p.name for p in index_copy.iterdir()} - {"CURRENT", ".lock", old.folder.name}
    assert all(name.startswith(".tmp-") for name in leftovers), leftovers
    assert current_version(index_copy) == old.folder
    engine = Engine(ServiceSettings(index=index_copy), embedder)
    hits = engine.search(schemas.SearchRequest(query="How does MIG isolate tenants?", k=1))
    assert hits.results[0].source.path == "notes/gpu-sharing.md"

    rerun = _cnai_ingest(folder, index_copy)
    output = rerun.communicate(timeout=600)[0].decode()
    assert rerun.returncode == 0, output
    new = load_index(index_copy)
    assert new.folder != old.folder
    assert sorted(new.manifest.documents) == sorted(f"pools/pool-{i:02d}.md" for i in range(24))
    assert not list(index_copy.glob(".tmp-*"))  # a crashed run's temp folder is cleaned
    assert {p.name for p in index_copy.glob("v-*")} == {old.folder.name, new.folder.name}
