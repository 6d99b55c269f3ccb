"""Follow-up retrieval: search with the question and with its conversation, then fuse.

A follow-up ("and how does it scale?") rarely names its topic; the turns before it do. Rather
than guess which noun a pronoun stands for, the engine searches several queries and fuses their
rankings by reciprocal rank (as the retriever fuses BM25 and dense):

- ``context``: the last user questions and the follow-up, joined;
- ``names``: the follow-up and the names the last answer gave (what "those" or "it" most often
  point at when the previous turn listed things);
- ``alone``: the follow-up as asked, at a lower weight when it leans on the conversation, so a
  change of topic ("Switching topics: what is KEDA?") still finds its own passages.

The sentences of the answer are then scored against the ``context`` query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.text import MARKER
from service.conversation import Turn, depends_on_history

CONTEXT_TURNS = 2  # earlier user questions joined to the follow-up
MAX_NAMES = 6  # names taken from the last answer
ALONE_WEIGHT = 0.5  # of the follow-up by itself, when it leans on the conversation
RRF_K = 60  # rank constant of the fusion, as in the retriever

# A name: a word with a capital or digit after its first letter (KServe, vLLM, H100), or a
# capitalised word not at the start of a sentence.
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z0-9+.-]*[A-Za-z0-9+]|\b[a-z]+[A-Z0-9][\w+.-]*")


@dataclass(frozen=True)
class Query:
    name: str  # context, names or alone
    text: str
    weight: float


def queries(question: str, history: Sequence[Turn]) -> list[Query]:
    """What to search for a question asked after ``history``; the first one answers it."""
    asked = [text.strip() for role, text in history if role == "user" and text.strip()]
    if not asked:
        return [Query("alone", question, 1.0)]
    context = " ".join([*asked[-CONTEXT_TURNS:], question])
    found = [Query("context", context, 1.0)]
    answers = [text for role, text in history if role == "assistant" and text.strip()]
    if answers:
        own = question.lower()
        last = re.sub(r"\s+", " ", MARKER.sub(" ", answers[-1]))
        names = [n for n in _NAME.findall(last) if n.lower() not in own]
        chosen = list(dict.fromkeys(names))[:MAX_NAMES]
        if chosen:
            found.append(Query("names", f"{question} {' '.join(chosen)}", 1.0))
    weight = ALONE_WEIGHT if depends_on_history(question) else 1.0
    found.append(Query("alone", question, weight))
    return found


def fuse(rankings: Sequence[tuple[float, Sequence[tuple[int, ...]]]], k: int) -> list[int]:
    """Indices of the ``k`` best passages over weighted rankings of row tuples.

    ``rankings`` holds (weight, [rows of each passage, best first]); a passage is known by its
    rows, so one chunk found alone by one query and merged with its neighbour by another counts
    once. The result indexes the concatenation of all rankings, best first.
    """
    score: dict[int, float] = {}
    first: dict[tuple[int, ...], int] = {}  # the rows of a passage -> its index in the result
    offset = 0
    for weight, ranking in rankings:
        for rank, rows in enumerate(ranking):
            key = first.setdefault(rows, offset + rank)
            score[key] = score.get(key, 0.0) + weight / (RRF_K + rank + 1)
        offset += len(ranking)
    chosen: list[int] = []
    taken: set[int] = set()
    flat = [rows for _, ranking in rankings for rows in ranking]
    for i in sorted(score, key=lambda i: -score[i]):
        if taken.isdisjoint(flat[i]):
            chosen.append(i)
            taken.update(flat[i])
        if len(chosen) == k:
            break
    return chosen
