"""Plain functions that turn API responses into Markdown for the chat (no Streamlit here)."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from service.schemas import AskResponse, Citation, Source

# The list markers the chunker keeps in passages ("- ", "* ", "+ ", "1. ", "2) ").
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_YOUTUBE = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be")


def md(text: str) -> str:
    """Passages are prose: a "$" is money, not the start of LaTeX."""
    return text.replace("$", r"\$")


def _is_item(sentence: str, passages: list[str]) -> bool:
    """A quoted sentence is a list item when, in a passage, it starts a line after a marker."""
    for passage in passages:
        at = passage.find(sentence)
        if at >= 0:
            return _ITEM.fullmatch(passage[passage.rfind("\n", 0, at) + 1 : at]) is not None
    return False


def answer_markdown(resp: AskResponse) -> str:
    """The answer with its [n] markers, list items on lines of their own as a Markdown list."""
    if not resp.sentences:
        return md(resp.answer)
    texts = {c.id: c.text for c in resp.citations}
    blocks: list[str] = []
    paragraph: list[str] = []
    for s in resp.sentences:
        line = s.text + " " + "".join(f"[{n}]" for n in s.citations)
        if _is_item(s.text, [texts[n] for n in s.citations if n in texts]):
            if paragraph:
                blocks.append(" ".join(paragraph))
                paragraph = []
            # A list follows its introduction directly; a blank line would split the list.
            if blocks and not blocks[-1].startswith("- "):
                blocks.append("")
            blocks.append("- " + line.strip())
        else:
            if blocks and blocks[-1].startswith("- "):
                blocks.append("")
            paragraph.append(line.strip())
    if paragraph:
        blocks.append(" ".join(paragraph))
    return md("\n".join(blocks).strip())


def searched_for(resp: AskResponse) -> list[str]:
    """The queries actually searched: all of them when the API lists several."""
    if resp.retrieval_queries:
        return list(dict.fromkeys(resp.retrieval_queries))
    return [resp.retrieval_query] if resp.retrieval_query else []


def cited_sentences(resp: AskResponse, citation: Citation) -> list[str]:
    """The answer's sentences that cite ``citation``."""
    return [s.text for s in resp.sentences if citation.id in s.citations]


def highlighted(passage: str, sentences: list[str]) -> tuple[str, list[str]]:
    """The passage as Markdown with the sentences found in it marked, and those not found.

    A generated sentence paraphrases its passage, so it may not be found; the caller shows it.
    """
    text = html.escape(passage, quote=False)
    missing: list[str] = []
    for sentence in sentences:
        needle = html.escape(sentence, quote=False)
        if needle and needle in text:
            text = text.replace(needle, f"<mark>{needle}</mark>", 1)
        else:
            missing.append(sentence)
    return md(text), missing


def breadcrumb(source: Source) -> str:
    parts = [source.title or source.path, *(p for p in source.section.split(" > ") if p)]
    return " › ".join(parts)


def seconds(start: str) -> int:
    """Whole seconds of a transcript time such as "01:02:03.500"."""
    clock = start.partition(".")[0]
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part or 0)
    return total


def source_link(source: Source) -> str:
    """The source URL, at the passage's page of a PDF or its time in a talk, when known."""
    if not source.url:
        return ""
    url = source.url
    parts = urlsplit(url)
    if source.start:
        t = seconds(source.start)
        if (parts.hostname or "") in _YOUTUBE:
            query = [(k, v) for k, v in parse_qsl(parts.query) if k != "t"] + [("t", f"{t}s")]
            return urlunsplit(parts._replace(query=urlencode(query)))
        return urlunsplit(parts._replace(fragment=f"t={t}"))  # W3C media fragment
    if source.page is not None:
        return urlunsplit(parts._replace(fragment=f"page={source.page}"))
    return url


def where(source: Source) -> str:
    parts = [f"Document: `{source.path}`"]
    if source.page is not None:
        parts.append(f"page {source.page}")
    if source.start:
        parts.append(f"at {source.start.partition('.')[0]}")
    return " · ".join(parts)
