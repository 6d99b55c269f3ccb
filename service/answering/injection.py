"""Retrieved text is data: a passage that addresses the model with instructions is not used.

A document can carry text written to steer an assistant ("ignore previous instructions and ...",
"you are now in developer mode", a line that starts "System:"), often with more orders around
it that name no model. Such a passage never answers a question about the knowledge base, so the
engine answers from the other passages (search still returns it, marked by nothing but its
text), and a generated sentence that repeats an instruction is dropped. The patterns name the
act of instructing a model, not a topic: documents about LLMs that mention "the system prompt"
or "instructions" in passing are untouched (none of the reference corpus's sentences match).
"""

from __future__ import annotations

import re

_WHOSE = r"(?:all\s+|any\s+|the\s+|your\s+|these\s+|those\s+)?"
_EARLIER = _WHOSE + r"(?:previous|prior|above|earlier|preceding|original|system)"
_ORDERS = r"(?:instructions?|prompts?|rules|context|messages?)"
_INSTRUCTING = re.compile(
    rf"\b(?:ignore|disregard|forget|override|bypass)\s+{_EARLIER}\s+{_ORDERS}\b"
    r"|\b(?:ignore|disregard|forget)\s+(?:everything|all)\s+"
    r"(?:you\s+(?:were|have\s+been)\s+told|above|before)\b"
    r"|\byou\s+are\s+now\s+(?:in\s+)?(?:developer|jailbreak|dan|unrestricted|admin)\b"
    r"|\bnew\s+(?:system\s+)?instructions?\s*:"
    r"|^\s*(?:system|assistant)\s*(?:prompt)?\s*:",
    re.IGNORECASE | re.MULTILINE,
)


def instructs_model(text: str) -> bool:
    """Whether ``text`` addresses an AI model with instructions (see the module docstring)."""
    return bool(_INSTRUCTING.search(text))
