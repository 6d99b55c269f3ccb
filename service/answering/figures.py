"""Questions that ask for a figure, and sentences that give a figure of the kind asked.

"How much does X cost?" is answered by a price, "how long ..." by a duration, "how many ..." by
a count. A passage on the right topic with some other number in it ("started in 2016") does not
answer, so the extractive answerer declines rather than quote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundreds?|thousands?|millions?|billions?|dozens?|half|double|twice|several|single"
)
_NUMBER = rf"(?:\d[\d,.]*(?:k|m|bn)?|{_WORDS})"  # 10k, 1.5m


@dataclass(frozen=True)
class FigureKind:
    name: str
    question: re.Pattern[str]
    answer: re.Pattern[str]


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# The first kind whose question pattern matches decides what the answer must hold.
KINDS = [
    FigureKind(
        "price",
        _re(
            r"\bhow much\b.*\b(?:cost|pay|spend|charge)|\b(?:price|pricing|fees?)\b|"
            r"\bcosts?\b.*\bper (?:month|hour|year|day|gpu|node|user)\b"
        ),
        _re(rf"[$€£]\s?\d|\b{_NUMBER}\s?(?:usd|eur|dollars?|euros?|cents?)\b|\bfree of charge\b"),
    ),
    FigureKind(
        "size",
        _re(r"\bhow (?:much|big|large)\b.*\b(?:memory|ram|vram|storage|disk|space)\b"),
        _re(rf"\b{_NUMBER}\s?(?:[kmgtp]i?b|bytes|[kmgt]igabytes?|gigabytes?|terabytes?)\b"),
    ),
    FigureKind(
        "duration",
        _re(r"\bhow long\b|\bhow many (?:seconds|minutes|hours|days|weeks|months|years)\b"),
        _re(
            rf"\b{_NUMBER}[\s-]?(?:ms|milliseconds?|s|secs?|seconds?|mins?|minutes?|h|hrs?|"
            rf"hours?|days?|weeks?|months?|years?)\b"
        ),
    ),
    FigureKind(
        "share",
        _re(r"\bwhat (?:percentage|percent|share)\b|\bby what percentage\b"),
        _re(rf"\b{_NUMBER}\s?(?:%|percent)"),
    ),
    FigureKind("year", _re(r"\b(?:what|which|in what) year\b"), _re(r"\b(?:19|20)\d\d\b")),
    FigureKind(
        "count",
        _re(r"\bhow many\b|\bhow much (?:does|did|do|is|was|will)\b.*\b(?:save|use|consume)\b"),
        _re(rf"\b(?!(?:19|20)\d\d\b){_NUMBER}\b"),  # a year is not a count
    ),
]


def asked_kind(question: str) -> FigureKind | None:
    return next((k for k in KINDS if k.question.search(question)), None)


def gives(kind: FigureKind, sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds a figure of ``kind`` that the question does not already state."""
    asked = {_norm(f) for f in kind.answer.findall(question)}
    return any(_norm(f) not in asked for f in kind.answer.findall(sentence))


def _norm(figure: str) -> str:
    return " ".join(figure.lower().rstrip(".,").split())
