"""The chat UI: ``streamlit run ui/app.py`` (or ``cnai ui``); it reaches the API over HTTP only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import streamlit as st

from service.schemas import AskRequest, AskResponse, Citation, Filters, Kind, Mode, Turn
from ui.client import (
    API_URL_ENV,
    DEFAULT_API_URL,
    ApiClient,
    ApiError,
    ApiTimeout,
    ApiUnavailable,
    InvalidUiSetting,
    timeout_from_env,
)
from ui.examples import EXAMPLES
from ui.render import (
    answer_markdown,
    breadcrumb,
    cited_sentences,
    highlighted,
    md,
    searched_for,
    source_link,
    where,
)

ANY_KIND = "any"
KINDS = [ANY_KIND, *get_args(Kind)]
SERVER_DEFAULT = "server default"
MODES = [SERVER_DEFAULT, *get_args(Mode)]
MODE_HELP = (
    "extractive quotes the passages (fast, no LLM); local writes with the small model bundled on "
    "the server (seconds per answer); openai uses the server's configured OpenAI-compatible LLM."
)
MAX_QUESTION_CHARS = next(
    (
        m.max_length
        for m in AskRequest.model_fields["question"].metadata
        if hasattr(m, "max_length")
    ),
    None,
)
_LIMITS = AskRequest.model_fields["history"].metadata + Turn.model_fields["content"].metadata
MAX_HISTORY_TURNS, MAX_TURN_CHARS = (m.max_length for m in _LIMITS if hasattr(m, "max_length"))
ABSTAINED_NOTE = "No passage in the knowledge base supports an answer, so none was given."
FALLBACK_NOTE = (
    "No sentence the model wrote was supported by a passage, so these are the passages' own words."
)
SEARCHED_FOR = "Searched for: "
FEEDBACK_THANKS = "Thanks, your feedback was saved"
EXAMPLES_INTRO = "Not sure where to start? Pick a question for your role:"
INDEX_PAGE = Path(__file__).with_name("index_page.py")


@dataclass
class ChatTurn:
    role: str  # "user" or "assistant"
    text: str = ""
    response: AskResponse | None = None
    error: str = ""
    level: str = "error"  # how an error is shown: "error", or "warning" when the API is away
    question: str = ""  # for an answer: the question it answers (feedback sends it)
    context: list[dict[str, str]] | None = None  # the history sent with that question
    feedback: str = ""  # once sent: what the API stored ("#id")


def _chat() -> list[ChatTurn]:
    if "history" not in st.session_state:
        st.session_state.history = []
    history: list[ChatTurn] = st.session_state.history
    return history


def _new_chat() -> None:
    st.session_state.history = []


def api_history(turns: list[ChatTurn]) -> list[dict[str, str]]:
    """The current chat as the API's ``history``: questions and answers, failed replies left out."""
    out: list[dict[str, str]] = []
    for t in turns:
        if t.role == "user":
            out.append({"role": "user", "content": t.text[:MAX_TURN_CHARS]})
        elif t.response is not None:
            out.append({"role": "assistant", "content": t.response.answer[:MAX_TURN_CHARS]})
    return out[-MAX_HISTORY_TURNS:]


@dataclass
class Options:
    k: int
    filters: Filters | None
    mode: str | None  # None: the server's default backend


def _sidebar(client: ApiClient | None, shown_url: str) -> Options:
    with st.sidebar:
        st.button("New chat", on_click=_new_chat, icon=":material/add_comment:", key="new_chat")
        st.markdown(f"**API:** `{shown_url}`")
        k = st.slider("Number of passages", min_value=1, max_value=10, value=5, key="k")
        kind = st.selectbox("Kind of document", KINDS, index=0, key="kind")
        mode = st.selectbox("Answer with", MODES, index=0, key="mode", help=MODE_HELP)
        if client is not None:
            ready, message = client.ready()
            if ready:
                st.success(f"API {message}")
            else:
                st.warning(f"API not ready: {message}")
    return Options(
        k,
        Filters.model_validate({"kind": kind}) if kind != ANY_KIND else None,
        None if mode == SERVER_DEFAULT else mode,
    )


def _timings(timings: dict[str, float]) -> str:
    order = sorted(timings, key=lambda name: name == "total")  # total last
    return " · ".join(f"{name} {timings[name]:.0f} ms" for name in order)


def _citation(resp: AskResponse, c: Citation) -> None:
    label = " — ".join(p for p in (c.source.title, c.source.section) if p) or c.source.path
    with st.expander(f"[{c.id}] {label}"):
        st.caption(breadcrumb(c.source))
        passage, missing = highlighted(c.text, cited_sentences(resp, c))
        for sentence in missing:  # a generated sentence paraphrases: show what it claims
            st.markdown(f"Cited for: *{md(sentence)}*")
        st.markdown(passage, unsafe_allow_html=True)
        st.caption(where(c.source))
        link = source_link(c.source)
        if link:
            st.markdown(f"[Open the source]({link}) · `{c.source.url}`")


def _render_answer(resp: AskResponse) -> None:
    if resp.abstained:
        st.info(md(resp.answer), icon=":material/help:")
        st.caption(ABSTAINED_NOTE)
    else:
        st.markdown(answer_markdown(resp))
        if resp.fallback:
            st.caption(FALLBACK_NOTE)
    for c in resp.citations:
        _citation(resp, c)
    queries = searched_for(resp)
    if queries:
        st.caption(SEARCHED_FOR + " · ".join(f"“{md(q)}”" for q in queries))
    if resp.timings_ms:
        st.caption(_timings(resp.timings_ms))


def _feedback(client: ApiClient | None, turn: ChatTurn, n: int) -> None:
    if turn.feedback:
        st.caption(f"{FEEDBACK_THANKS} ({turn.feedback}).")
        return
    if client is None or turn.response is None:
        return
    with st.form(key=f"feedback-{n}", border=False):
        rating = st.feedback("thumbs", key=f"rating-{n}")
        comment = st.text_input(
            "Comment (optional)", key=f"comment-{n}", max_chars=2000,
            placeholder="What was wrong or missing?",
        )  # fmt: skip
        if not st.form_submit_button("Send feedback", key=f"send-{n}"):
            return
    if rating is None:
        st.warning("Pick thumbs up or down first, then send.")
        return
    try:
        stored = client.feedback(
            turn.question, turn.response, "up" if rating == 1 else "down", comment,
            turn.context,
        )  # fmt: skip
    except ApiUnavailable as exc:
        st.warning(f"The feedback was not saved: {exc}")
        return
    except ApiError as exc:
        st.error(f"The feedback was not saved: {exc.message}")
        return
    turn.feedback = f"#{stored.id}"
    st.caption(f"{FEEDBACK_THANKS} ({turn.feedback}).")


def _show(turn: ChatTurn) -> None:
    if turn.error:
        (st.warning if turn.level == "warning" else st.error)(turn.error)
    elif turn.response is not None:
        _render_answer(turn.response)
    else:
        st.markdown(md(turn.text))


def _answer(client: ApiClient, question: str, options: Options, context: list) -> ChatTurn:  # type: ignore[type-arg]
    """Write the reply as the server verifies each sentence, then the reply with its citations."""
    final: list[AskResponse] = []

    def sentences() -> Iterator[str]:
        events = client.ask_stream(question, options.k, options.filters, options.mode, context)
        for event in events:
            if isinstance(event, AskResponse):
                final.append(event)
            else:
                yield event  # the pieces add up to the answer, spacing included

    turn = ChatTurn("assistant", question=question, context=context)
    with st.chat_message("assistant"):
        slot = st.empty()
        try:
            with st.spinner("Searching the knowledge base…"), slot.container():
                st.write_stream(sentences())
            turn.response = final[0]
        except ApiTimeout as exc:
            turn.error, turn.level = str(exc), "warning"
        except ApiUnavailable as exc:
            turn.error, turn.level = str(exc), "warning"
        except ApiError as exc:
            turn.error = f"The API could not answer: {exc.message}"
            # 503: the server is up but not ready (no index, no LLM configured), not broken.
            turn.level = "warning" if exc.status == 503 else "error"
        with slot.container():
            _show(turn)
    return turn


def _examples() -> None:
    st.markdown(EXAMPLES_INTRO)
    columns = st.columns(2)
    for i, (persona, questions) in enumerate(EXAMPLES.items()):
        with columns[i % 2]:
            st.markdown(f"**{persona}**")
            for j, q in enumerate(questions):
                if st.button(q, key=f"example-{i}-{j}"):
                    st.session_state.pending = q


def chat() -> None:
    st.title("CNAI Assistant")
    st.caption(
        "Answers about Cloud Native AI drawn from the CNCF knowledge base, "
        "with a citation for every sentence, or none when the sources do not say."
    )
    shown_url = os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    client: ApiClient | None = None
    try:
        client = ApiClient(timeout=timeout_from_env())
    except InvalidUiSetting as exc:
        st.error(str(exc))
    options = _sidebar(client, shown_url)

    history = _chat()
    if not history and client is not None:
        _examples()
    for n, turn in enumerate(history):
        with st.chat_message(turn.role):
            _show(turn)
            if turn.role == "assistant":
                _feedback(client, turn, n)
    typed = st.chat_input(
        "Ask about Cloud Native AI…", max_chars=MAX_QUESTION_CHARS, disabled=client is None
    )
    question = (typed or st.session_state.pop("pending", None) or "").strip()
    if client is None or not question:
        return
    context = api_history(history)  # the chat so far, before this question joins it
    asked = ChatTurn("user", text=question)
    history.append(asked)
    with st.chat_message("user"):
        _show(asked)
    # The answer (or the error) joins the history too, so the question never loses its reply.
    history.append(_answer(client, question, options, context))
    st.rerun()  # draw the answer with its feedback form, like every earlier one


def main() -> None:
    st.set_page_config(page_title="CNAI Assistant", page_icon=":material/smart_toy:", layout="wide")
    pages = [
        st.Page(chat, title="Chat", icon=":material/chat:", default=True),
        st.Page(INDEX_PAGE, title="Index", icon=":material/library_books:", url_path="index"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
