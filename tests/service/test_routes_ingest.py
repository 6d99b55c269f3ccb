"""POST /v1/ingest and GET /v1/ingest/{job} on a real uvicorn server over a real index."""

from __future__ import annotations

import threading
from pathlib import Path

from ingest.embed import Embedder
from tests.service.ingest_helpers import ingest_server, note

FJORD = note(
    "Fjord scheduling",
    "The fjord scheduler places notebook pods on nodes that already cache their images.",
)


def test_uploaded_files_are_indexed_in_a_background_job_and_served_without_restart(
    index_copy: Path, embedder: Embedder, tmp_path: Path
):
    with ingest_server(index_copy, embedder, tmp_path) as s:
        before, old_docs = s.serving(), s.documents()
        resp = s.http.post(
            "/v1/ingest",
            files=[
                ("files", ("fjord.md", FJORD, "text/markdown")),
                ("files", ("tide.txt", b"Tide batching groups small requests.\n", "text/plain")),
            ],
        )
        assert resp.status_code == 202, resp.text
        job = resp.json()
        assert job["status"] in ("queued", "running", "done")
        assert resp.headers["location"] == f"/v1/ingest/{job['id']}"
        job = s.wait(job["id"])
        assert job["status"] == "done", job
        assert job["counts"]["added"] == 2 and job["counts"]["skipped"] == 0
        assert job["progress"]["done"] == job["progress"]["total"] > 0
        assert job["serving"] == job["version"] != before
        assert s.documents() == old_docs | {"uploads/fjord.md", "uploads/tide.txt"}
        hits = s.http.post("/v1/search", json={"query": "fjord scheduler", "k": 1}).json()
        assert hits["results"][0]["source"]["path"] == "uploads/fjord.md"
        assert not any((tmp_path / "var" / "uploads").iterdir())  # staging cleaned


def test_reuploading_a_file_replaces_its_document_and_keeps_the_others(
    index_copy: Path, embedder: Embedder, tmp_path: Path
):
    with ingest_server(index_copy, embedder, tmp_path) as s:
        first = s.http.post("/v1/ingest", files={"files": ("fjord.md", FJORD)}).json()
        assert s.wait(first["id"])["status"] == "done"
        changed = note("Fjord scheduling", "Fjord now prefers nodes with spare GPU memory.")
        second = s.http.post("/v1/ingest", files={"files": ("fjord.md", changed)}).json()
        job = s.wait(second["id"])
        assert job["counts"]["changed"] == 1 and job["counts"]["removed"] == 0
        assert len(s.documents()) == 5
        texts = [c.text for c in s.app.state.engine.version.chunks]
        assert any("spare GPU memory" in t for t in texts)
        assert not any("cache their images" in t for t in texts)


def test_a_folder_under_the_ingest_roots_is_indexed(
    index_copy: Path, embedder: Embedder, tmp_path: Path
):
    with ingest_server(index_copy, embedder, tmp_path) as s:
        team = s.roots / "team-notes"
        team.mkdir()
        (team / "fjord.md").write_bytes(FJORD)
        for folder in ("team-notes", str(team)):  # relative to a root, or absolute
            resp = s.http.post("/v1/ingest", json={"folder": folder})
            assert resp.status_code == 202, resp.text
            job = s.wait(resp.json()["id"])
            assert job["status"] == "done" and job["kind"] == "folder", job
        assert "team-notes/fjord.md" in s.documents()


def test_concurrent_ingests_run_one_after_the_other_and_both_are_kept(
    index_copy: Path, embedder: Embedder, tmp_path: Path
):
    with ingest_server(index_copy, embedder, tmp_path) as s:
        bodies = [("a.md", note("Alpha", "Alpha pods drain first.")), ("b.md", FJORD)]
        ids: list[str] = []

        def post(name: str, data: bytes) -> None:
            ids.append(s.http.post("/v1/ingest", files={"files": (name, data)}).json()["id"])

        threads = [threading.Thread(target=post, args=b) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        jobs = sorted((s.wait(i) for i in ids), key=lambda j: j["started_at"])
        assert [j["status"] for j in jobs] == ["done", "done"]
        assert jobs[1]["started_at"] >= jobs[0]["finished_at"]
        assert {"uploads/a.md", "uploads/b.md"} <= s.documents()


def test_queries_are_answered_from_the_current_index_while_a_job_rebuilds(
    index_copy: Path, embedder: Embedder, tmp_path: Path
):
    # Enough text that embedding takes a few seconds, so queries overlap the rebuild.
    files = [
        (
            "files",
            (
                f"bulk-{i}.md",
                note(
                    f"Bulk note {i}",
                    " ".join(
                        f"Sentence {j} of note {i} talks about queue depth {j}." for j in range(60)
                    ),
                ),
            ),
        )
        for i in range(12)
    ]
    with ingest_server(index_copy, embedder, tmp_path) as s:
        before = s.serving()
        job_id = s.http.post("/v1/ingest", files=files).json()["id"]
        during: list[tuple[int, str]] = []
        while (job := s.http.get(f"/v1/ingest/{job_id}").json())["status"] in ("queued", "running"):
            r = s.http.post("/v1/search", json={"query": "How does MIG isolate tenants?", "k": 2})
            if job["status"] == "running":
                during.append((r.status_code, r.json()["results"][0]["source"]["path"]))
        assert job["status"] == "done", job
        assert during, "no query overlapped the rebuild"
        assert all(code == 200 for code, _ in during)
        assert all(path == "notes/gpu-sharing.md" for _, path in during)
        assert s.serving() == job["version"] != before
