"""The chat UI: ``streamlit run ui/app.py`` (or ``cnai ui``); it reaches the API over HTTP only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import get_args

import streamlit as st

from service.schemas import AskRequest, AskResponse, Citation, Filters, Kind, Mode
from ui.client import (
    API_URL_ENV,
    DEFAULT_API_URL,
    ApiClient,
    ApiError,
    ApiUnavailable,
    InvalidApiUrl,
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
ABSTAINED_NOTE = "No passage in the knowledge base supports an answer, so none was given."
FALLBACK_NOTE = (
    "No sentence the model wrote was supported by a passage, so these are the passages' own words."
)


@dataclass
class Turn:
    role: str  # "user" or "assistant"
    text: str = ""
    response: AskResponse | None = None
    error: str = ""


def _history() -> list[Turn]:
    if "history" not in st.session_state:
        st.session_state.history = []
    history: list[Turn] = st.session_state.history
    return history


def _clear() -> None:
    st.session_state.history = []


def _md(text: str) -> str:
    # Passages are prose: a "$" is money, not the start of LaTeX.
    return text.replace("$", r"\$")


@dataclass
class Options:
    k: int
    filters: Filters | None
    mode: str | None  # None: the server's default backend


def _sidebar(client: ApiClient | None, shown_url: str) -> Options:
    with st.sidebar:
        st.markdown(f"**API:** `{shown_url}`")
        k = st.slider("Number of passages", min_value=1, max_value=10, value=5, key="k")
        kind = st.selectbox("Kind of document", KINDS, index=0, key="kind")
        mode = st.selectbox("Answer with", MODES, index=0, key="mode", help=MODE_HELP)
        st.button("Clear conversation", on_click=_clear)
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


def _where(c: Citation) -> str:
    parts = [f"Document: `{c.source.path}`"]
    if c.source.page is not None:
        parts.append(f"page {c.source.page}")
    if c.source.start:
        parts.append(f"at {c.source.start}")
    return " · ".join(parts)


def _timings(timings: dict[str, float]) -> str:
    order = sorted(timings, key=lambda name: name == "total")  # total last
    return " · ".join(f"{name} {timings[name]:.0f} ms" for name in order)


def _render_answer(resp: AskResponse) -> None:
    st.markdown(_md(resp.answer))
    if resp.abstained:
        st.caption(ABSTAINED_NOTE)
    elif resp.fallback:
        st.caption(FALLBACK_NOTE)
    for c in resp.citations:
        label = " — ".join(p for p in (c.source.title, c.source.section) if p) or c.source.path
        with st.expander(f"[{c.id}] {label}"):
            st.markdown(_md(c.text))
            st.caption(_where(c))
            if c.source.url:
                st.markdown(f"[{c.source.url}]({c.source.url})")
    if resp.timings_ms:
        st.caption(_timings(resp.timings_ms))


def _render(turn: Turn) -> None:
    with st.chat_message(turn.role):
        _show(turn)


def _show(turn: Turn) -> None:
    if turn.error:
        st.error(turn.error)
    elif turn.response is not None:
        _render_answer(turn.response)
    else:
        st.markdown(_md(turn.text))


def _answer(client: ApiClient, question: str, options: Options) -> Turn:
    """Write the reply as the server verifies each sentence, then the reply with its citations."""
    final: list[AskResponse] = []

    def sentences() -> Iterator[str]:
        for event in client.ask_stream(question, options.k, options.filters, options.mode):
            if isinstance(event, AskResponse):
                final.append(event)
            else:
                yield event  # the pieces add up to the answer, spacing included

    with st.chat_message("assistant"):
        slot = st.empty()
        try:
            with st.spinner("Searching the knowledge base…"), slot.container():
                st.write_stream(sentences())
            turn = Turn("assistant", response=final[0])
        except ApiUnavailable as exc:
            turn = Turn("assistant", error=str(exc))
        except ApiError as exc:
            turn = Turn("assistant", error=f"The API could not answer: {exc.message}")
        with slot.container():
            _show(turn)
    return turn


def main() -> None:
    st.set_page_config(page_title="CNAI Assistant", page_icon=":material/smart_toy:")
    st.title("CNAI Assistant")
    st.caption(
        "Answers about Cloud Native AI drawn from the CNCF knowledge base, "
        "with a citation for every sentence, or none when the sources do not say."
    )
    shown_url = os.environ.get(API_URL_ENV) or DEFAULT_API_URL
    client: ApiClient | None = None
    try:
        client = ApiClient(timeout=60.0)
    except InvalidApiUrl as exc:
        st.error(str(exc))
    options = _sidebar(client, shown_url)

    history = _history()
    for turn in history:
        _render(turn)
    typed = st.chat_input(
        "Ask about Cloud Native AI…", max_chars=MAX_QUESTION_CHARS, disabled=client is None
    )
    question = (typed or "").strip()
    if client is None or not question:
        return
    asked = Turn("user", text=question)
    history.append(asked)
    _render(asked)
    # The answer (or the error) joins the history too, so the question never loses its reply.
    history.append(_answer(client, question, options))


if __name__ == "__main__":
    main()
