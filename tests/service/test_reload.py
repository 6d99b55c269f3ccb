"""A running server picks up a new index version by itself, and refuses a corrupt one."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ingest.embed import Embedder
from ingest.pipeline import ingest
from ingest.store import current_version
from tests.service.ingest_helpers import Server, ingest_server, note


def _wait_until(predicate, timeout: float = 30) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _add_version(s: Server, corpus: Path, tmp: Path, embedder: Embedder) -> str:
    folder = Path(shutil.copytree(corpus, tmp / "notes"))
    (folder / "kelp.md").write_bytes(note("Kelp caching", "Kelp caches model weights on nodes."))
    return ingest([folder], s.index, embedder, show_progress=False).version


def test_a_version_written_by_cnai_ingest_is_served_without_a_restart(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    with ingest_server(index_copy, embedder, tmp_path / "srv") as s:
        before = s.http.get("/readyz").json()["index"]
        version = _add_version(s, tiny_corpus, tmp_path, embedder)
        assert _wait_until(lambda: s.http.get("/readyz").json()["index"].endswith(version))
        assert s.http.get("/readyz").json()["index"] != before
        hit = s.http.post("/v1/search", json={"query": "kelp weights cache", "k": 1}).json()
        assert hit["results"][0]["source"]["path"] == "notes/kelp.md"


def test_a_corrupt_new_version_is_refused_and_the_last_good_one_keeps_serving(
    tiny_corpus: Path, index_copy: Path, embedder: Embedder, tmp_path: Path
):
    with ingest_server(index_copy, embedder, tmp_path / "srv", index_reload_seconds=0) as s:
        good = s.serving()
        # Written while the watcher is off, then damaged before the server looks at it.
        bad = _add_version(s, tiny_corpus, tmp_path, embedder)
        faiss_file = current_version(index_copy) / "vectors.faiss"
        data = bytearray(faiss_file.read_bytes())
        data[-10] ^= 0xFF
        faiss_file.write_bytes(bytes(data))

        assert s.app.state.reloader.check() is False
        assert s.serving() == good
        refused = s.app.state.reloader.refused[bad]
        assert "vectors.faiss is corrupt" in refused
        ready = s.http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["index"].endswith(good)
        r = s.http.post("/v1/ask", json={"question": "What is Multi-Instance GPU?"})
        assert r.status_code == 200 and r.json()["citations"]
