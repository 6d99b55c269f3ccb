"""The chat page's conversation, feedback, examples and index page, via AppTest and a live API."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.ui.conftest import DOCS, TIMEOUT, ask, open_app
from ui.app import FEEDBACK_THANKS, SEARCHED_FOR
from ui.client import ApiClient
from ui.examples import EXAMPLES
from ui.index_page import INDEX_TITLE
from ui.render import breadcrumb

FIRST = "How does Multi-Instance GPU isolate workloads?"
FOLLOW_UP = "And how does a pod request one?"


def _searched(message) -> str:  # type: ignore[no-untyped-def]
    found = [c.value for c in message.caption if c.value.startswith(SEARCHED_FOR)]
    assert len(found) == 1, [c.value for c in message.caption]
    return str(found[0])


def test_a_follow_up_is_sent_with_the_chat_and_searched_with_the_first_question(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), FIRST)
    assert _searched(at.chat_message[1]) == f"{SEARCHED_FOR}“{FIRST}”"

    at = ask(at, FOLLOW_UP)

    searched = _searched(at.chat_message[3])
    # Only a request that carried the history can search the first question with the follow-up.
    assert FIRST in searched and FOLLOW_UP in searched and searched.count("“") >= 2
    reply = "\n".join(m.value for m in at.chat_message[3].markdown)
    assert "MIG" in reply or "device plugin" in reply  # about the first question's topic


def test_new_chat_starts_afresh_so_the_next_question_is_searched_alone(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), FIRST)
    at.sidebar.button(key="new_chat").click().run(timeout=TIMEOUT)
    assert not at.chat_message and at.button(key="example-0-0")  # the examples are back

    at = ask(at, FOLLOW_UP)

    assert _searched(at.chat_message[1]) == f"{SEARCHED_FOR}“{FOLLOW_UP}”"


def test_thumbs_down_with_a_comment_is_stored_by_the_api(
    monkeypatch: pytest.MonkeyPatch, live_api: str, feedback_db: Path
) -> None:
    at = ask(open_app(monkeypatch, live_api), FIRST)
    before = len(httpx.get(f"{live_api}/v1/feedback/export").json()["items"])

    at.feedback[0].set_value(0)  # 0 is thumbs down
    at.text_input(key="comment-1").set_value("It should mention time slicing too.")
    at.button(key="send-1").click().run(timeout=TIMEOUT)

    assert not at.exception, at.exception
    assert any(FEEDBACK_THANKS in c.value for c in at.chat_message[1].caption)
    items = httpx.get(f"{live_api}/v1/feedback/export").json()["items"]
    assert len(items) == before + 1
    item = items[-1]
    assert item["question"] == FIRST and item["rating"] == "down"
    assert item["comment"] == "It should mention time slicing too."
    assert item["citations"] and "[1]" in item["answer"] and item["index_version"]
    with sqlite3.connect(feedback_db) as db:
        assert db.execute("SELECT question FROM feedback WHERE id = ?", (item["id"],)).fetchone()


def test_sending_feedback_without_a_rating_asks_for_one_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), FIRST)
    before = len(httpx.get(f"{live_api}/v1/feedback/export").json()["items"])

    at.button(key="send-1").click().run(timeout=TIMEOUT)

    assert "thumbs up or down" in at.chat_message[1].warning[0].value
    assert len(httpx.get(f"{live_api}/v1/feedback/export").json()["items"]) == before


def test_empty_chat_offers_example_questions_by_persona_and_a_click_asks_one(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = open_app(monkeypatch, live_api)
    shown = "\n".join(m.value for m in at.markdown)
    for persona in EXAMPLES:
        assert f"**{persona}**" in shown
    question = EXAMPLES["Platform engineer / SRE"][0]
    labels = [b.label for b in at.button]
    assert question in labels

    at.button[labels.index(question)].click().run(timeout=TIMEOUT)

    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.chat_message[0].markdown[0].value == question
    assert question not in [b.label for b in at.button]  # examples only on an empty chat


def test_a_citation_opens_to_its_passage_with_the_cited_sentence_marked_and_a_breadcrumb(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), FIRST)

    gpu = [e for e in at.chat_message[1].expander if "Sharing GPUs" in e.label][0]
    text = "\n".join(m.value for m in gpu.markdown)
    assert "<mark>" in text and "Multi-Instance GPU" in text
    cited = [c for c in ApiClient(live_api).ask(FIRST).citations if "Sharing" in c.source.title]
    assert gpu.caption[0].value == breadcrumb(cited[0].source)
    assert gpu.caption[0].value.startswith("Sharing GPUs between inference workloads")
    assert "(https://example.org/cnai/gpu-sharing)" in text


def test_a_timeout_is_shown_as_a_warning_saying_the_api_may_be_busy(
    monkeypatch: pytest.MonkeyPatch, silent_url: str
) -> None:
    monkeypatch.setenv("CNAI_UI_TIMEOUT", "1")
    at = ask(open_app(monkeypatch, silent_url), FIRST)

    reply = at.chat_message[1]
    assert not reply.error and "did not answer within 1 s" in reply.warning[0].value


def test_an_invalid_timeout_setting_is_refused_with_what_to_set(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    monkeypatch.setenv("CNAI_UI_TIMEOUT", "soon")
    at = open_app(monkeypatch, live_api)

    assert "CNAI_UI_TIMEOUT" in at.error[0].value and "seconds" in at.error[0].value


def test_index_page_lists_the_documents_model_and_counts(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = open_app(monkeypatch, live_api, "index_page.py")

    assert at.title[0].value == INDEX_TITLE
    assert [m.value for m in at.metric][:1] == [str(len(DOCS))]
    assert "all-MiniLM-L6-v2" in at.caption[0].value
    table = at.dataframe[0].value
    assert sorted(table["title"]) == sorted(
        t.split("title: ", 1)[1].split("\n", 1)[0] for t in DOCS.values()
    )
    assert "https://example.org/cnai/gpu-sharing" in list(table["source"])
    assert "**talk** 1" in "\n".join(m.value for m in at.markdown)


def test_index_page_without_an_api_shows_a_warning(
    monkeypatch: pytest.MonkeyPatch, closed_port_url: str
) -> None:
    at = open_app(monkeypatch, closed_port_url, "index_page.py")

    assert closed_port_url in at.warning[0].value and not at.error
