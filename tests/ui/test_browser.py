"""The chat UI in a real browser: headless Chromium drives a Streamlit server and a live API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import free_socket

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
CHROMIUM = os.environ.get("CNAI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
QUESTION = "How does Multi-Instance GPU share one GPU between workloads?"
WAIT_MS = 90_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason="no Chromium: `make browser` installs Debian's, or set CNAI_CHROMIUM",
    ),
]


@pytest.fixture
def ui_url(live_api: str) -> Iterator[str]:
    """A real Streamlit server for ui/app.py, talking to the live API."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()  # streamlit binds the port itself
    env = {**os.environ, "CNAI_API_URL": live_api}
    args = [
        sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless=true",
        f"--server.port={port}", "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false",
    ]  # fmt: skip
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start: {server.stderr.read()[-2000:]!r}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_question_typed_in_the_browser_gets_a_cited_answer(
    ui_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.goto(ui_url)
            page.get_by_text("ready: 4 documents").wait_for(timeout=WAIT_MS)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill(QUESTION)
            box.press("Enter")
            page.get_by_test_id("stExpander").first.wait_for(timeout=WAIT_MS)
            messages = page.get_by_test_id("stChatMessage").all_inner_texts()
            page.screenshot(
                path=str(tmp_path_factory.mktemp("browser") / "answer.png"), full_page=True
            )
        finally:
            browser.close()

    assert len(messages) == 2 and QUESTION in messages[0]
    answer = messages[1]
    assert "MIG" in answer and "[1]" in answer
    assert "Sharing GPUs between inference workloads" in answer  # the citation's title
