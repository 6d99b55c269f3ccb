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
from ui.app import FEEDBACK_THANKS, SEARCHED_FOR
from ui.index_page import INDEX_TITLE

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
CHROMIUM = os.environ.get("CNAI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
QUESTION = "How does Multi-Instance GPU share one GPU between workloads?"
FOLLOW_UP = "And how does a pod request one?"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
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


def _launch(p):  # type: ignore[no-untyped-def]
    return p.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


def _wait_answers(page, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Wait until the chat shows ``n`` answers, each done (its 'Searched for' caption drawn)."""
    from playwright.sync_api import expect

    messages = page.get_by_test_id("stChatMessage")
    expect(messages).to_have_count(2 * n, timeout=WAIT_MS)
    messages.nth(2 * n - 1).get_by_text(SEARCHED_FOR).wait_for(timeout=WAIT_MS)
    return list(page.get_by_test_id("stChatMessage").all_inner_texts())


def test_a_chat_in_the_browser_follows_up_takes_feedback_and_shows_the_index(
    ui_url: str, live_api: str
) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    before = len(httpx.get(f"{live_api}/v1/feedback/export", timeout=10).json()["items"])
    with sync_playwright() as p:
        browser = _launch(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(ui_url)
            page.get_by_text("ready: 4 documents").wait_for(timeout=WAIT_MS)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill(QUESTION)
            box.press("Enter")
            first = _wait_answers(page, 1)
            page.screenshot(path=str(SHOTS / "chat.png"), full_page=True)

            expander = page.get_by_test_id("stExpander").first
            expander.click()  # open citation [1]; its passage renders after the click returns
            expander.get_by_text("Multi-Instance GPU").first.wait_for(timeout=WAIT_MS)
            cited = expander.inner_text()
            page.get_by_test_id("stExpander").first.screenshot(path=str(SHOTS / "citation.png"))

            box.fill(FOLLOW_UP)
            box.press("Enter")
            messages = _wait_answers(page, 2)
            page.screenshot(path=str(SHOTS / "follow-up.png"), full_page=True)

            reply = page.get_by_test_id("stChatMessage").nth(3)
            reply.get_by_label("Thumbs down").click()
            reply.get_by_label("Comment (optional)").fill("Say how MIG differs from time slicing.")
            reply.get_by_role("button", name="Send feedback").click()
            page.get_by_text(FEEDBACK_THANKS).first.wait_for(timeout=WAIT_MS)
            reply.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "feedback.png"), full_page=True)

            page.goto(f"{ui_url}/index")
            page.get_by_text(INDEX_TITLE).wait_for(timeout=WAIT_MS)
            metric = page.get_by_test_id("stMetric").first
            metric.wait_for(timeout=WAIT_MS)
            documents = metric.inner_text()
            page.get_by_test_id("stDataFrame").wait_for(timeout=WAIT_MS)
            page.screenshot(path=str(SHOTS / "index.png"), full_page=True)
        finally:
            browser.close()

    assert QUESTION in first[0] and "MIG" in first[1] and "[1]" in first[1]
    assert "Sharing GPUs between inference workloads" in first[1]  # the citation's title
    assert "Multi-Instance GPU" in cited  # the opened citation shows its passage

    assert len(messages) == 4 and FOLLOW_UP in messages[2]
    searched = next(line for line in messages[3].splitlines() if line.startswith(SEARCHED_FOR))
    # The follow-up says nothing of GPUs: only the history sent with it can bring MIG back.
    assert QUESTION in searched and FOLLOW_UP in searched
    assert "MIG" in messages[3] or "device plugin" in messages[3]

    items = httpx.get(f"{live_api}/v1/feedback/export", timeout=10).json()["items"]
    assert len(items) == before + 1
    (stored,) = [i for i in items if i["question"] == FOLLOW_UP]
    assert stored["rating"] == "down"
    assert stored["comment"] == "Say how MIG differs from time slicing."

    assert documents.split() == ["Documents", "4"], documents
