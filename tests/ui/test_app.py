"""The chat UI and its client, driven through Streamlit's AppTest against a live API."""

from __future__ import annotations

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from service.schemas import AskResponse
from tests.ui.conftest import TIMEOUT, ask, open_app
from ui.app import ABSTAINED_NOTE, FALLBACK_NOTE
from ui.client import ApiClient, ApiError, ApiUnavailable, InvalidApiUrl

ANSWERABLE = "How does Multi-Instance GPU share one GPU between workloads?"


def _roles(at: AppTest) -> list[str]:
    return [m.name for m in at.chat_message]


def _markdown(element) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(m.value for m in element.markdown)


def test_asking_a_question_shows_the_answer_with_citation_expanders(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), ANSWERABLE)

    assert _roles(at) == ["user", "assistant"]
    user, assistant = at.chat_message
    assert _markdown(user) == ANSWERABLE
    answer = _markdown(assistant)
    assert "MIG" in answer and "[1]" in answer
    expanders = assistant.expander
    assert len(expanders) >= 1
    assert expanders[0].label.startswith("[1] ")
    first = expanders[0]
    assert "Document: `cnai/" in " ".join(c.value for c in first.caption)
    assert not at.error


def test_citation_of_a_document_with_a_url_links_to_it(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), ANSWERABLE)

    gpu = [e for e in at.chat_message[1].expander if "Sharing GPUs" in e.label]
    assert gpu, [e.label for e in at.chat_message[1].expander]
    assert "https://example.org/cnai/gpu-sharing" in _markdown(gpu[0])


def test_unanswerable_question_shows_the_abstention(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), "What does a pepperoni pizza cost in Naples?")

    assistant = at.chat_message[1]
    assert "will not guess" in assistant.info[0].value  # shown as information, not an error
    assert ABSTAINED_NOTE in [c.value for c in assistant.caption]
    assert not assistant.expander and not assistant.error


def test_kind_filter_limits_citations_to_that_kind(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = open_app(monkeypatch, live_api)
    at.sidebar.selectbox(key="kind").set_value("glossary").run(timeout=TIMEOUT)
    at = ask(at, "What does a vector database store?")

    labels = [e.label for e in at.chat_message[1].expander]
    assert labels and all("Vector databases" in label for label in labels)


def test_unreachable_api_shows_how_to_start_it_and_keeps_the_question(
    monkeypatch: pytest.MonkeyPatch, closed_port_url: str
) -> None:
    at = open_app(monkeypatch, closed_port_url)
    assert "API not ready" in at.sidebar.warning[0].value

    at = ask(at, ANSWERABLE)

    assert _roles(at) == ["user", "assistant"]
    assert _markdown(at.chat_message[0]) == ANSWERABLE
    assert not at.chat_message[1].error  # the API being away is a warning, not a failure
    message = at.chat_message[1].warning[0].value
    assert closed_port_url in message
    assert "cnai serve" in message and "make run" in message


def test_api_without_an_index_shows_not_ready_and_the_server_message_onask(
    monkeypatch: pytest.MonkeyPatch, api_without_index: str
) -> None:
    server_message = httpx.get(f"{api_without_index}/readyz").json()["error"]["message"]
    at = open_app(monkeypatch, api_without_index)
    assert at.sidebar.warning[0].value == f"API not ready: {server_message}"

    at = ask(at, ANSWERABLE)

    assert _markdown(at.chat_message[0]) == ANSWERABLE
    assert "cnai ingest" in at.chat_message[1].warning[0].value


def test_the_chosen_answer_backend_is_asked_for(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = open_app(monkeypatch, live_api)
    assert at.sidebar.selectbox(key="mode").options == [
        "server default", "extractive", "local", "openai",
    ]  # fmt: skip

    at.sidebar.selectbox(key="mode").set_value("openai").run(timeout=TIMEOUT)
    at = ask(at, ANSWERABLE)

    # The live API has no OpenAI-compatible server configured: its 503 says what to set.
    assert "CNAI_OPENAI_BASE_URL" in at.chat_message[1].warning[0].value

    at.sidebar.selectbox(key="mode").set_value("extractive").run(timeout=TIMEOUT)
    at = ask(at, ANSWERABLE)
    assert "MIG" in _markdown(at.chat_message[3]) and not at.chat_message[3].error


def test_a_generated_answer_that_fell_back_says_so(
    monkeypatch: pytest.MonkeyPatch, api_with_an_off_topic_model: str
) -> None:
    at = open_app(monkeypatch, api_with_an_off_topic_model)
    at.sidebar.selectbox(key="mode").set_value("local").run(timeout=TIMEOUT)
    at = ask(at, ANSWERABLE)

    reply = at.chat_message[1]
    assert "Bananas" not in _markdown(reply) and "MIG" in _markdown(reply)
    assert FALLBACK_NOTE in [c.value for c in reply.caption]


def test_sidebar_shows_the_api_url_and_that_it_is_ready(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = open_app(monkeypatch, live_api)

    assert live_api in _markdown(at.sidebar)
    assert "ready: 4 documents" in at.sidebar.success[0].value


def test_new_chat_empties_the_history(monkeypatch: pytest.MonkeyPatch, live_api: str) -> None:
    at = ask(open_app(monkeypatch, live_api), ANSWERABLE)
    assert len(at.chat_message) == 2

    at.sidebar.button(key="new_chat").click().run(timeout=TIMEOUT)

    assert not at.chat_message
    assert at.session_state["history"] == []


def test_whitespace_input_adds_nothing_to_the_history(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), "   \n ")

    assert not at.chat_message
    assert not at.error


def test_app_shows_a_clear_error_when_the_api_url_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = open_app(monkeypatch, "localhost:8000")

    assert "CNAI_API_URL" in at.error[0].value
    assert at.chat_input[0].disabled


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://example.org", "http://", "  "])
def test_client_rejects_an_invalid_api_url_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("CNAI_API_URL", url)

    with pytest.raises(InvalidApiUrl) as info:
        ApiClient()

    assert "CNAI_API_URL" in str(info.value) and "http(s)://" in str(info.value)


def test_client_reads_the_api_url_from_the_environment_without_trailing_slash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CNAI_API_URL", "https://cnai.example.org:9000/")

    assert ApiClient().base_url == "https://cnai.example.org:9000"


def test_api_error_carries_the_server_message_for_a_too_long_question(live_api: str) -> None:
    with pytest.raises(ApiError) as info:
        ApiClient(live_api).ask("x" * 3000, k=5)

    assert info.value.status == 422
    assert info.value.code == "invalid_request"
    assert info.value.message.startswith("question: ")
    assert "2000 characters" in info.value.message


def test_client_ask_parses_the_answer_and_ready_reports_the_index(live_api: str) -> None:
    client = ApiClient(live_api)

    resp = client.ask(ANSWERABLE, k=3)
    ready, message = client.ready()

    assert not resp.abstained and resp.citations
    assert ready and message.startswith("ready: 4 documents, ")


def test_client_raises_api_unavailable_naming_the_url_when_nothing_listens(
    closed_port_url: str,
) -> None:
    with pytest.raises(ApiUnavailable) as info:
        ApiClient(closed_port_url).ask(ANSWERABLE)

    assert closed_port_url in str(info.value) and "cnai serve" in str(info.value)


def test_client_streams_sentences_that_add_up_to_the_final_answer(live_api: str) -> None:
    events = list(
        ApiClient(live_api).ask_stream("How do pods share GPUs: MIG or time slicing?", k=3)
    )

    *sentences, final = events
    assert len(sentences) >= 2 and all(isinstance(s, str) for s in sentences)
    assert isinstance(final, AskResponse) and final.citations
    assert "".join(sentences) == final.answer


def test_client_stream_carries_the_server_message_and_names_the_url_when_down(
    live_api: str, closed_port_url: str
) -> None:
    with pytest.raises(ApiError) as info:
        list(ApiClient(live_api).ask_stream("x" * 3000))
    assert info.value.status == 422 and "2000 characters" in info.value.message

    with pytest.raises(ApiUnavailable) as down:
        list(ApiClient(closed_port_url).ask_stream(ANSWERABLE))
    assert closed_port_url in str(down.value)


def test_the_streamed_answer_is_shown_once_with_its_citations(
    monkeypatch: pytest.MonkeyPatch, live_api: str
) -> None:
    at = ask(open_app(monkeypatch, live_api), ANSWERABLE)

    assistant = at.chat_message[1]
    first_sentence = ApiClient(live_api).ask(ANSWERABLE).answer.split(" [")[0]
    in_passages = sum(_markdown(e).count(first_sentence) for e in assistant.expander)
    assert assistant.expander
    assert _markdown(assistant).count(first_sentence) - in_passages == 1
