"""The text rules that ingest, service and eval share, defined once so none splits differently.

Code fences, headings, list items, citation markers, sentence boundaries (the spans embedded at
ingest time, so answers need no embedding per sentence), sentences of a cited answer, and the
stop words and stemming behind lexical matching.
"""

from __future__ import annotations

import re
from functools import lru_cache

import bm25s
import Stemmer

# A line opening or closing a fenced code block, inside a chunk's Markdown.
FENCE = re.compile(r"^\s*(```|~~~)")
# A fence in a raw document: CommonMark's run of three or more, closed by as long a run.
RAW_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
# A Markdown heading line: its #s and its title.
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# The marker opening a list item: "- ", "* ", "+ ", "1. " or "1) ".
ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
# A citation marker of an answer, "[3]".
MARKER = re.compile(r"\s*\[(\d+)\]")

_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|Fig|Dr|Mr|Ms|approx|incl)\.|\b[A-Z]\.)$")
MIN_WORDS = 4  # shorter prose is a fragment ("See below."); a list item of any length counts
_WORD = re.compile(r"\w")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of prose sentences and list items; code and tables skipped.

    A list item is kept however short ("Loops"): it is what the line introducing the list
    promises, and an answer quoting that line needs its items.
    """
    spans: list[tuple[int, int, bool]] = []  # (start, end, opens a list item)
    offset = 0
    fence: str | None = None
    para_start: int | None = None
    in_item = False
    lines = text.splitlines(keepends=True)

    def close(end: int) -> None:
        nonlocal para_start, in_item
        if para_start is not None:
            found = _split_prose(text, para_start, end)
            spans.extend((s, e, in_item and n == 0) for n, (s, e) in enumerate(found))
        para_start, in_item = None, False

    for line in lines:
        start, offset = offset, offset + len(line)
        marker = FENCE.match(line)
        stripped = line.strip()
        if fence or marker:
            close(start)
            if marker:
                fence = None if fence == marker.group(1) else (fence or marker.group(1))
            continue
        if not stripped or stripped.startswith(("|", "#", "<")):
            close(start)
            continue
        item = ITEM.match(line)
        if item:
            close(start)
            para_start, in_item = start + item.end(), True
            continue
        if para_start is None:
            para_start = start + (len(line) - len(line.lstrip()))
    close(offset)
    return [
        (s, e)
        for s, e, item in spans
        if len(text[s:e].split()) >= MIN_WORDS or (item and _WORD.search(text[s:e]))
    ]


def in_list(text: str, spans: list[tuple[int, int]]) -> list[bool]:
    """Per span: does it open a list item, or go on with the item the span before it is in?"""
    flags: list[bool] = []
    end = 0
    for start, stop in spans:
        opens = ITEM.fullmatch(text[text.rfind("\n", 0, start) + 1 : start]) is not None
        flags.append(opens or bool(flags and flags[-1] and "\n" not in text[end:start]))
        end = stop
    return flags


def _split_prose(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        if _ABBREV.search(text[cursor : match.start()]):
            continue
        out.append((cursor, match.start()))
        cursor = match.end()
    out.append((cursor, end))
    return [
        (s, e - (len(text[s:e]) - len(text[s:e].rstrip()))) for s, e in out if text[s:e].strip()
    ]


# --- sentences of an answer that carries [n] markers --------------------------------------

# A sentence ends after . ! or ? (plus closing quotes and any [n] markers), or after a run of
# markers, when what follows starts a new sentence; markers right after the stop belong to it.
# Extractive answers quote list items without a full stop, so a run of markers ends them too.
_CITED_END = re.compile(
    r"(?:[.!?][\"')\]]*(?:\s*\[\d+\])*|(?:\s*\[\d+\])+)(?=\s+[\"'(\[*A-Z0-9-]|\s*$)"
)


def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """An answer's sentences without their markers, each with the numbers its markers carry."""
    out: list[tuple[str, list[int]]] = []
    cursor = 0
    for match in _CITED_END.finditer(answer):
        _add_cited(out, answer[cursor : match.end()])
        cursor = match.end()
    _add_cited(out, answer[cursor:])
    return out


def _add_cited(out: list[tuple[str, list[int]]], part: str) -> None:
    cited = [int(n) for n in MARKER.findall(part)]
    text = " ".join(ITEM.sub("", MARKER.sub("", part)).split())
    if _WORD.search(text):
        out.append((text, cited))
    elif cited and out:
        out[-1][1].extend(cited)  # a marker alone after the stop: it cites the sentence before


# --- words --------------------------------------------------------------------------------

STOP_WORDS = "en"  # bm25s's English stop-word list, for BM25 and for content words alike
STEMMER = Stemmer.Stemmer("english")
_LETTER_OR_DIGIT = re.compile(r"[a-z0-9]+")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stemmed words without stop words: what BM25 and word overlap compare."""
    return bm25s.tokenize(
        texts, stopwords=STOP_WORDS, stemmer=STEMMER, return_ids=False, show_progress=False
    )


# The index's sentences come back query after query, and bm25s.tokenize costs ~0.1 ms of fixed
# overhead a call: /v1/ask spent 15% of its time here before this cache (pyinstrument, issue 17).
@lru_cache(maxsize=32768)
def content_words(text: str) -> frozenset[str]:
    """Stemmed words without stop words, for lexical overlap (frozen: the result is shared)."""
    return frozenset(tokenize([text])[0]) if _LETTER_OR_DIGIT.search(text.lower()) else frozenset()


# Words a conversation's question carries whatever it is about (service.conversation): the
# stop words of a question rather than of a passage, so "explain", "tell" and "please" too.
QUESTION_WORDS = frozenset({
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "but", "by", "can", "could", "did", "do", "does", "doing", "done", "each", "else", "explain",
    "for", "from", "get", "give", "had", "has", "have", "how", "i", "if", "in", "into", "is",
    "it", "its", "me", "more", "most", "my", "need", "of", "on", "one", "or", "other", "our",
    "please", "should", "so", "some", "such", "tell", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "to", "use", "used", "was", "we", "were",
    "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you",
    "your",
})  # fmt: skip
