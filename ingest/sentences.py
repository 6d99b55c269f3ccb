"""Sentence spans of a chunk, embedded at ingest time so answers need no embedding per sentence."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
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
        marker = _FENCE.match(line)
        stripped = line.strip()
        if fence or marker:
            close(start)
            if marker:
                fence = None if fence == marker.group(1) else (fence or marker.group(1))
            continue
        if not stripped or stripped.startswith(("|", "#", "<")):
            close(start)
            continue
        item = _ITEM.match(line)
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
        opens = _ITEM.fullmatch(text[text.rfind("\n", 0, start) + 1 : start]) is not None
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
