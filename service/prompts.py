"""Prompts for the generative backends, kept short: the local model has 135M parameters."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING

from service.retrieval import Hit

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.prompts import ChatPromptTemplate

_NOISE = re.compile(r"^\s*(#{1,6}\s|```|~~~|\|?\s*:?-{3,})")

# One user turn: SmolLM2-135M follows an instruction next to the context better than a
# system prompt (tried on the dev questions); the template adds its default system line.
ANSWER_MESSAGES = (
    (
        "human",
        "Context:\n{passages}\n\n"
        "Answer the question in one or two sentences, using only the context. Put the "
        "number of the passage you used in brackets, like [1]. If the context does not "
        "answer it, say that you do not know.\nQuestion: {question}",
    ),
)

REWRITE_MESSAGES = (
    (
        "system",
        "Rewrite the last question so that it can be understood without the conversation. "
        "Reply with the rewritten question only.",
    ),
    ("human", "{conversation}\n\nLast question: {question}"),
)


@cache
def _template(messages: tuple[tuple[str, str], ...]) -> ChatPromptTemplate:
    # langchain_core takes half a second to import: only the generative paths pay for it.
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages(list(messages))


def pack(hits: Sequence[Hit], budget: int, count_tokens: Callable[[str], int]) -> list[str]:
    """Passage texts in rank order while they fit the token budget; the first one always fits."""
    texts: list[str] = []
    used = 0
    for hit in hits:
        text = _passage(hit)
        cost = count_tokens(text)
        if used + cost > budget:
            if not texts:  # cut the best passage rather than send none
                words = text.split()
                texts.append(" ".join(words[: max(20, len(words) * budget // cost)]))
            break
        texts.append(text)
        used += cost
    return texts


def _passage(hit: Hit) -> str:
    where = " > ".join(p for p in (hit.chunk.title, hit.chunk.section) if p)
    # Headings are in ``where`` already; code fences and table rules only cost tokens.
    lines = [
        line for line in hit.chunk.text.splitlines() if not _NOISE.match(line) and line.strip()
    ]
    body = " ".join(" ".join(lines).split())
    return f"({where}) {body}" if where else body


def answer_messages(question: str, passages: Sequence[str]) -> list[BaseMessage]:
    numbered = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(passages, start=1))
    return _template(ANSWER_MESSAGES).format_messages(passages=numbered, question=question)


def rewrite_messages(turns: Sequence[tuple[str, str]], question: str) -> list[BaseMessage]:
    conversation = "\n".join(
        f"{role.capitalize()}: {' '.join(text.split())}" for role, text in turns
    )
    return _template(REWRITE_MESSAGES).format_messages(conversation=conversation, question=question)
