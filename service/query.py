"""The search query made from a question: references to "the whitepaper" itself taken out.

Users often name the source they have in mind ("what does the whitepaper say about MIG?",
"per the paper, ..."). Those words point at no passage in particular, yet BM25 rewards the few
passages that contain "whitepaper" and the embedding drifts towards introductions, so the
search runs without them. The answerer still reads the question as asked.
"""

from __future__ import annotations

import re

_SOURCE = (
    r"(?:the|this|your|our)\s+(?:cnai\s+|cncf\s+|cloud native ai\s+)?"
    r"(?:white\s?paper|paper|doc|document)(?:'s)?"
)
_VERB = (
    r"(?:say|says|mention|mentions|describe|describes|list|lists|recommend|recommends|define|"
    r"defines|name|names|give|gives|suggest|suggests|call|calls|credit|want|wants|expect|"
    r"expects|predict|predicts|make|makes|think|thinks)"
)
_REFERENCE = re.compile(
    rf"\b(?:according to|as per|per|in|from)\s+{_SOURCE}"
    rf"|\b(?:does|do|did)\s+{_SOURCE}(?:\s+{_VERB}\b)?"
    rf"|\b{_SOURCE}\s+{_VERB}\b",
    re.IGNORECASE,
)


def search_query(question: str) -> str:
    """``question`` without the words that only name its source; unchanged if little is left."""
    stripped = " ".join(_REFERENCE.sub(" ", question).split())
    return stripped if len(stripped.split()) >= 3 else question
