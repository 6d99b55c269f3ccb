"""Follow-up questions: rewrite one that leans on earlier turns into a standalone query.

Rules first: a question that starts with "and", "what about", ..., uses a pronoun such as "it"
or "they", or is only a word or two depends on the conversation; it gets the key words of the
previous question. A generative backend may rewrite it better; its rewrite is used only when it
looks like a question about the same topic, since a small model can wander off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.text import QUESTION_WORDS
from service.llm import LLM
from service.prompts import rewrite_messages

Turn = tuple[str, str]  # (role, content), role one of user, assistant, system

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'+./-]*[A-Za-z0-9+]|[A-Za-z0-9]")
_CONNECTOR = re.compile(
    r"^\s*(?:and|but|also|so|then|or|what about|how about|what else about)\b[\s,]*", re.I
)
_PRONOUNS = {"it", "they", "them", "these", "those", "this", "that"}
# "Is it possible to ...": an "it" that stands for nothing said before.
_DUMMY_IT = re.compile(
    r"\bit(?:\s+is|'s|\s+was)?\s+(?:possible|necessary|true|worth|better|best|hard|easy|"
    r"important|recommended|safe|common|normal|a good idea)\b",
    re.I,
)
_POSSESSIVES = {"its", "their"}
_MAX_TOPIC_WORDS = 6


def depends_on_history(question: str) -> bool:
    """Whether the question cannot be understood without the turns before it."""
    words = [w.lower() for w in _WORD.findall(_DUMMY_IT.sub(" ", question))]
    if not words:
        return False
    if _CONNECTOR.match(question) or len(words) <= 2:
        return True
    if any(w in _PRONOUNS or w in _POSSESSIVES for w in words if w not in {"that", "this"}):
        return True
    # "this" and "that" also introduce a noun ("a service that scales"): only a question with
    # little of its own to say leans on them.
    own = [w for w in words if w not in QUESTION_WORDS and w not in {"long", "much", "many"}]
    return any(w in {"that", "this"} for w in words) and len(own) <= 2


def topic(question: str) -> str:
    """The key words of a question: its names if it has any, else its content words."""
    words = [w for w in _WORD.findall(question) if w.lower() not in QUESTION_WORDS]
    names = [w for w in words if any(c.isupper() or c.isdigit() for c in w)]
    # A capital at the start of the sentence does not make a name.
    first = _WORD.findall(question)[:1]
    names = [w for w in names if not (first and w == first[0] and w[1:].islower())]
    chosen = names or words
    return " ".join(dict.fromkeys(chosen[:_MAX_TOPIC_WORDS]))


def rule_rewrite(question: str, previous: str) -> str:
    """The follow-up with the previous question's topic in place of its pronoun, or appended."""
    subject = topic(previous)
    if not subject:
        return question
    body = _CONNECTOR.sub("", question).strip() or question.strip()
    own = {w.lower() for w in _WORD.findall(body)}
    if all(w.lower() in own for w in subject.split()):
        return body
    for pattern, replacement in (
        (r"\b(its|their)\b", f"{subject}'s"),
        (r"\b(it|they|them|these|those)\b", subject),
        (r"\b(that|this)\b", subject),
    ):
        rewritten, count = re.subn(pattern, replacement, body, count=1, flags=re.I)
        if count:
            return rewritten
    end = re.search(r"[?.!]*\s*$", body)
    cut = end.start() if end else len(body)
    return f"{body[:cut]} {subject}{body[cut:] or '?'}"


def standalone(question: str, history: Sequence[Turn], llm: LLM | None = None) -> str:
    """The query to search for: the question itself, or its rewrite when it is a follow-up."""
    asked = [text for role, text in history if role == "user" and text.strip()]
    if not asked or not depends_on_history(question):
        return question
    # Earlier follow-ups are resolved first, so a chain of them keeps its topic.
    previous = asked[0]
    for text in asked[1:]:
        previous = rule_rewrite(text, previous) if depends_on_history(text) else text
    rewritten = rule_rewrite(question, previous)
    if llm is not None:
        return _llm_rewrite(llm, history, question, topic(previous)) or rewritten
    return rewritten


def _llm_rewrite(llm: LLM, history: Sequence[Turn], question: str, subject: str) -> str | None:
    turns = [(role, " ".join(text.split()[:60])) for role, text in history if role != "system"]
    reply = "".join(llm.stream(rewrite_messages(turns[-4:], question), max_tokens=48))
    line = reply.strip().splitlines()[0].strip(" \"'") if reply.strip() else ""
    line = re.sub(r"^(?:rewritten|standalone)?\s*question\s*:\s*", "", line, flags=re.I)
    words = _WORD.findall(line)
    if not 3 <= len(words) <= 40 or line.lower() == question.strip().lower():
        return None
    # Keep it only when it names the topic of the conversation.
    needed = {w.lower() for w in _WORD.findall(subject)}
    return line if needed & {w.lower() for w in words} else None
