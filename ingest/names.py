"""Corpus facts the API reads at start-up, counted once at ingest time and stored (issue 17).

``names.json`` in a version folder holds the corpus's words (``service.vocabulary.Vocabulary``
tells a name the corpus never mentions), the acronyms it spells out, with how often and in how
many chunks (``service.vocabulary.Acronyms``), and each chunk's heading words
(``service.retrieval.HeadingMatch``). Counting them from the chunk texts at every start took
about 0.5 s of the engine's 0.7 s on the full corpus, more on a loaded machine. The file is
JSON, never pickle, and the manifest records its SHA-256 like every data file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.chunker import Chunk
from ingest.text import tokenize

FILE = "names.json"  # inside a version folder

# A word as Vocabulary knows it: letters and digits, no stemming, compared lower-cased.
WORD = re.compile(r"[A-Za-z0-9]+")
# "Multi-Instance GPU (MIG)" and "MIG (Multi-Instance GPU)": up to six capitalised words.
_LONG_SHORT = re.compile(r"\b([A-Z][\w-]*(?:\s+[A-Z][\w-]*){1,5})\s+\(([A-Z][A-Za-z]*[A-Z]s?)\)")
_SHORT_LONG = re.compile(r"\b([A-Z][A-Za-z]*[A-Z]s?)\s+\(([A-Z][\w-]*(?:\s+[A-Z][\w-]*){1,5})\)")
_WHOLE_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class AcronymCounts:
    """Each spelled-out acronym's long forms with their counts, the number of texts using the
    acronym as a whole word, and the number of texts counted."""

    found: dict[str, dict[str, int]]
    uses: dict[str, int]
    texts: int


@dataclass(frozen=True)
class Names:
    words: list[str]  # sorted, lower-cased (Vocabulary)
    acronyms: AcronymCounts  # over the chunk texts (Acronyms)
    headings: list[list[str]]  # per chunk row, tokenized heading words (HeadingMatch)


def corpus_words(texts: Iterable[str]) -> set[str]:
    """The lower-cased words of ``texts`` (for the chunks: their embed_text, headings too)."""
    return {w.lower() for text in texts for w in WORD.findall(text)}


def acronym_counts(texts: Sequence[str]) -> AcronymCounts:
    found: dict[str, dict[str, int]] = {}
    for text in texts:
        pairs = [(m[1], m[0]) for m in _LONG_SHORT.findall(text)]
        pairs += [(m[0], m[1]) for m in _SHORT_LONG.findall(text)]
        for short, long in pairs:
            if _initials_match(short, long):
                counts = found.setdefault(short, {})
                counts[long] = counts.get(long, 0) + 1
    return AcronymCounts(found, texts_using(set(found), texts), len(texts))


def texts_using(words: set[str], texts: Sequence[str]) -> dict[str, int]:
    """How many of ``texts`` use each of ``words`` as a whole word (what ``\\bWORD\\b`` finds).

    One pass over the words of each text: a regex search per acronym and text took 4.6 of the
    engine's 5 s of start-up on the full corpus (issue 17).
    """
    counts = dict.fromkeys(words, 0)
    for text in texts:
        for word in words.intersection(_WHOLE_WORD.findall(text)):
            counts[word] += 1
    return counts


def _initials_match(short: str, long: str) -> bool:
    """ "MIG" fits "Multi-Instance GPU": the letters of the short form start its words in order."""
    letters = short.rstrip("s").lower()
    words = re.findall(r"[A-Za-z0-9]+", long)
    starts = "".join(w[0].lower() for w in words)
    return len(letters) >= 2 and (
        starts == letters or starts.startswith(letters[:2]) and len(words) <= len(letters) + 1
    )


def heading_words(chunks: Sequence[Chunk]) -> list[list[str]]:
    """Each chunk's heading words, stemmed, without stop words, each word once."""
    if not chunks:
        return []  # bm25s cannot tokenize nothing
    return [list(dict.fromkeys(words)) for words in tokenize([c.headings for c in chunks])]


def build(chunks: Sequence[Chunk]) -> Names:
    return Names(
        sorted(corpus_words(c.embed_text for c in chunks)),
        acronym_counts([c.text for c in chunks]),
        heading_words(chunks),
    )


def write(names: Names, version: Path) -> None:
    data = {
        "words": names.words,
        "acronyms": {
            "found": names.acronyms.found,
            "uses": names.acronyms.uses,
            "texts": names.acronyms.texts,
        },
        "headings": names.headings,
    }
    # Key order kept: Acronyms picks the first of equally frequent long forms.
    (version / FILE).write_text(json.dumps(data, separators=(",", ":")))


def read(version: Path, rows: int) -> Names:
    """The stored names of a version of ``rows`` chunks; ValueError if the file does not fit."""
    data = json.loads((version / FILE).read_text())
    try:
        acronyms = data["acronyms"]
        names = Names(
            list(data["words"]),
            AcronymCounts(dict(acronyms["found"]), dict(acronyms["uses"]), int(acronyms["texts"])),
            list(data["headings"]),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{FILE} lacks {exc}") from exc
    if len(names.headings) != rows or names.acronyms.texts != rows:
        raise ValueError(
            f"{FILE} counts {len(names.headings)} chunks' headings and "
            f"{names.acronyms.texts} texts for {rows} chunks"
        )
    return names
