"""The search query made from a question: the words that only name its source taken out.

Serves questions that name the knowledge base's own document as their source ("what does the
whitepaper say about MIG?", "per the paper, ..."). Those words point at no passage in
particular, yet BM25 rewards the few passages that contain "whitepaper" and the embedding
drifts towards introductions, so the search runs without them. The rule is grammatical, not a
word list: the source is "the/this/your/our paper|whitepaper|doc|document", which may carry
the name of what it documents ("the Acme whitepaper", "the QFS docs": up to three words that
open with a capital, matched case-sensitively, so "the whole paper" is not one); it goes with the
preposition before it ("according to", "per", "in", "from"), with the verb after it in a
question with do-support ("does the paper <verb>"), or with a present-tense verb after it
("the paper <verb>s"). The answerer still reads the question as asked.
"""

from __future__ import annotations

import re

_NAME = r"(?-i:[A-Z][\w-]*)\s+"  # a word that opens with a capital, whatever the flags
_SOURCE = (
    rf"(?:the|this|your|our)\s+(?:{_NAME}){{0,3}}(?:white\s?paper|paper|document|doc)\b(?:'s)?"
)
_REFERENCE = re.compile(
    rf"\b(?:according to|as per|per|in|from)\s+{_SOURCE}"
    rf"|\b(?:does|do|did)\s+{_SOURCE}(?:\s+[a-z]+\b)?"
    rf"|\b{_SOURCE}\s+[a-z]+s\b",
    re.IGNORECASE,
)


def search_query(question: str) -> str:
    """``question`` without the words that only name its source; unchanged if little is left."""
    stripped = " ".join(_REFERENCE.sub(" ", question).split())
    return stripped if len(stripped.split()) >= 3 else question
