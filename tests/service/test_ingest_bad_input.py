"""Bad input to API ingestion: each case gets a 4xx or a skipped-file reason, the server stays
up, and nothing already indexed is lost. One real uvicorn server over a real index."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.embed import Embedder
from tests.service.ingest_helpers import Server, ingest_server, note

KB = 1024
LIMITS = {"ingest_max_files": 5, "ingest_max_file_mb": 50 / 1024, "ingest_max_upload_mb": 0.2}


@pytest.fixture(scope="module")
def server(
    tiny_index: Path, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("bad_ingest")
    index = Path(shutil.copytree(tiny_index, tmp / "index"))
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Secret\n\nThe outside note names a walrus.\n")
    with ingest_server(index, embedder, tmp, **LIMITS) as s:
        (s.roots / "escape").symlink_to(outside, target_is_directory=True)
        (s.roots / "a-file.md").write_text("# A file\n\nNot a folder.\n")
        (s.roots / "ok").mkdir()
        (s.roots / "ok" / "fine.md").write_text("# Fine\n\nFine notes.\n")
        (s.roots / "ok" / "leak.md").symlink_to(outside / "secret.md")
        (s.roots / "ok" / "passwd.md").symlink_to("/etc/passwd")
        s.original = s.documents()  # type: ignore[attr-defined]
        yield s


def _still_whole(s: Server) -> None:
    assert s.http.get("/healthz").status_code == 200
    assert s.original <= s.documents()  # type: ignore[attr-defined]
    r = s.http.post("/v1/search", json={"query": "How does MIG isolate tenants?", "k": 1})
    assert r.json()["results"][0]["source"]["path"] == "notes/gpu-sharing.md"
    assert "walrus" not in " ".join(c.text for c in s.app.state.engine.version.chunks)


def _multipart(*parts: tuple[str, str, bytes]) -> list[tuple[str, tuple[str, bytes]]]:
    return [(field, (name, data)) for field, name, data in parts]


GOOD = ("files", "good.md", note("Good", "A good note about pod budgets."))

# (case, request kwargs, status, words the error message holds)
REQUESTS = [
    ("no_body", {}, 422, "multipart/form-data"),
    (
        "text_plain",
        {"content": b"hello", "headers": {"content-type": "text/plain"}},
        422,
        "multipart",
    ),
    ("form_urlencoded", {"data": {"note": "x"}}, 422, "multipart/form-data"),
    (
        "multipart_text_field_only",
        {
            "content": b'--xx\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
            b"x\r\n--xx--\r\n",
            "headers": {"content-type": "multipart/form-data; boundary=xx"},
        },
        422,
        "unknown form fields",
    ),
    (
        "multipart_empty",
        {"content": b"--xx--\r\n", "headers": {"content-type": "multipart/form-data; boundary=xx"}},
        422,
        "no files",
    ),
    (
        "multipart_unknown_field",
        {"data": {"x": "1"}, "files": _multipart(GOOD)},
        422,
        "unknown form fields",
    ),
    (
        "multipart_garbage",
        {
            "content": b"--xx\r\nnonsense",
            "headers": {"content-type": "multipart/form-data; boundary=xx"},
        },
        422,
        "",
    ),
    (
        "too_many_files",
        {"files": _multipart(*[("files", f"n{i}.md", b"# N\n\nText.\n") for i in range(6)])},
        422,
        "too many files",
    ),
    ("file_over_limit", {"files": _multipart(("files", "big.md", b"a" * 60 * KB))}, 413, "big.md"),
    (
        "upload_over_limit",
        {"files": _multipart(*[("files", f"p{i}.md", b"b" * 45 * KB) for i in range(5)])},
        413,
        "the upload holds",
    ),
    ("huge_upload_1mb", {"files": _multipart(("files", "huge.md", b"c" * 1024 * KB))}, 413, "MB"),
    (
        "json_invalid",
        {"content": b"{folder:", "headers": {"content-type": "application/json"}},
        422,
        "not valid JSON",
    ),
    (
        "json_invalid_utf8",
        {"content": b'{"folder": "\xff"}', "headers": {"content-type": "application/json"}},
        422,
        "",
    ),
    (
        "multipart_malformed",
        {
            "content": b"--b0undary\r\nTrue--b0undary--\r\n",
            "headers": {"content-type": "multipart/form-data; boundary=b0undary"},
        },
        422,
        "malformed multipart upload",
    ),
    ("json_not_object", {"json": ["ok"]}, 422, "folder"),
    ("json_missing_folder", {"json": {}}, 422, "folder"),
    ("json_unknown_field", {"json": {"folder": "ok", "recursive": True}}, 422, "recursive"),
    ("json_folder_not_string", {"json": {"folder": 12}}, 422, "folder"),
    ("json_folder_empty", {"json": {"folder": ""}}, 422, "folder"),
    ("json_folder_dotdot", {"json": {"folder": "ok/../../outside"}}, 422, "'..'"),
    ("json_folder_absolute_outside", {"json": {"folder": "/etc"}}, 403, "outside the ingest roots"),
    ("json_folder_symlink_out", {"json": {"folder": "escape"}}, 403, "outside the ingest roots"),
    ("json_folder_missing", {"json": {"folder": "nowhere"}}, 422, "no such folder"),
    ("json_folder_is_a_file", {"json": {"folder": "a-file.md"}}, 422, "not a folder"),
    ("json_folder_nul", {"json": {"folder": "ok\u0000"}}, 422, "NUL"),
    (
        "json_folder_lone_surrogate",
        {"content": b'{"folder": "\\ud800"}', "headers": {"content-type": "application/json"}},
        422,
        "",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "status", "words"), [r[1:] for r in REQUESTS], ids=[r[0] for r in REQUESTS]
)
def test_a_bad_ingest_request_gets_a_4xx_with_a_clear_error(
    server: Server, kwargs: dict, status: int, words: str
):
    resp = server.http.post("/v1/ingest", **kwargs)
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] and words in error["message"]
    _still_whole(server)


@pytest.mark.parametrize(
    ("path", "status"), [("/v1/ingest/0123abcd", 404), ("/v1/ingest/..%2F..%2Fetc", 404)]
)
def test_an_unknown_job_is_a_404(server: Server, path: str, status: int):
    resp = server.http.get(path)
    assert resp.status_code == status
    _still_whole(server)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
# (case, file name, content, words the skipped line holds)
FILES = [
    ("png_named_md", "image.md", PNG, "looks binary (a PNG image)"),
    ("nul_bytes_txt", "blob.txt", b"text\x00\x01\x02more", "looks binary"),
    ("zip_named_txt", "archive.txt", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "ZIP archive"),
    ("elf_named_html", "tool.html", b"\x7fELF\x02\x01\x01\x00", "an executable"),
    (
        "truncated_utf8",
        "cut.md",
        "# Café\n\nTronqué au milieu: caf".encode()[:-1] + b"\xc3",
        "not valid UTF-8",
    ),
    ("latin1_md", "legacy.md", "# Notes\n\nCafé crème.\n".encode("latin-1"), "not valid UTF-8"),
    ("truncated_pdf", "cut.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "cannot parse PDF"),
    ("markdown_named_pdf", "notes.pdf", b"# Not a PDF\n\nJust text.\n", "not a PDF"),
    ("empty_file", "empty.md", b"", "empty"),
    ("whitespace_file", "blank.txt", b" \n\t\n", "empty"),
    ("front_matter_only", "meta.md", b"---\ntitle: Only meta\n---\n", "no text left"),
    ("script_only_html", "s.html", b"<html><script>var a = 1;</script></html>", "no text"),
    ("vtt_without_cues", "talk.vtt", b"WEBVTT\n\n", "no subtitle cues"),
    ("traversal_name", "../../escaped.md", b"# Escaped\n\nText.\n", "plain name"),
    ("absolute_name", "/etc/cron.d/x.md", b"# Abs\n\nText.\n", "plain name"),
    ("backslash_name", "..\\..\\win.md", b"# Win\n\nText.\n", "plain name"),
    ("hidden_name", ".env.md", b"KEY=1\n", "hidden"),
    ("unsupported_type", "tool.exe", b"MZ\x90\x00", "unsupported file type"),
    ("png_with_png_name", "photo.png", PNG, "unsupported file type"),
]


@pytest.mark.parametrize(
    ("name", "data", "words"), [f[1:] for f in FILES], ids=[f[0] for f in FILES]
)
def test_a_bad_uploaded_file_is_skipped_with_its_reason_and_the_rest_is_indexed(
    server: Server, name: str, data: bytes, words: str, request: pytest.FixtureRequest
):
    good = f"good-{request.node.callspec.id}.md"
    files = [("files", (name, data)), ("files", (good, note("Good", "Pod budgets cap evictions.")))]
    resp = server.http.post("/v1/ingest", files=files)
    assert resp.status_code == 202, resp.text
    job = server.wait(resp.json()["id"])
    assert job["status"] == "done", job
    assert len(job["skipped"]) == 1 and words in job["skipped"][0], job["skipped"]
    assert "\n" not in job["skipped"][0]
    assert (
        job["counts"]["skipped"] == 1 and job["counts"]["added"] + job["counts"]["unchanged"] >= 1
    )
    assert f"uploads/{good}" in server.documents()
    staging = server.app.state.ingest_jobs.staging
    assert not list(staging.parent.rglob("escaped.md")) and not Path("/etc/cron.d/x.md").exists()
    _still_whole(server)


def test_a_duplicate_name_in_one_upload_keeps_the_first(server: Server):
    files = [
        ("files", ("twin.md", note("Twin", "First twin."))),
        ("files", ("twin.md", b"# 2\n\nSecond.\n")),
    ]
    job = server.wait(server.http.post("/v1/ingest", files=files).json()["id"])
    assert job["status"] == "done" and "same name twice" in job["skipped"][0]
    assert any("First twin" in c.text for c in server.app.state.engine.version.chunks)
    _still_whole(server)


def test_an_upload_of_only_bad_files_changes_nothing_and_says_why(server: Server):
    before = server.serving()
    files = [("files", ("image.md", PNG)), ("files", ("empty.txt", b""))]
    job = server.wait(server.http.post("/v1/ingest", files=files).json()["id"])
    assert job["status"] == "done" and job["counts"]["added"] == 0, job
    assert [line.split(":")[0] for line in job["skipped"]] == [
        "uploads/empty.txt",
        "uploads/image.md",
    ]
    assert job["version"] == job["serving"] == before == server.serving()
    _still_whole(server)


def test_a_folder_job_skips_links_that_leave_it_and_names_them(server: Server):
    job = server.wait(server.http.post("/v1/ingest", json={"folder": "ok"}).json()["id"])
    assert job["status"] == "done", job
    assert sorted(line.split(":")[0] for line in job["skipped"]) == ["ok/leak.md", "ok/passwd.md"]
    assert "ok/fine.md" in server.documents()
    _still_whole(server)


def test_the_matrix_counts_at_least_forty_cases() -> None:
    # Kept honest in the report: request cases + job ids + file cases + the four tests above.
    assert len(REQUESTS) + 2 + len(FILES) + 3 >= 40, json.dumps([r[0] for r in REQUESTS])
