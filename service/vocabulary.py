"""Names the knowledge base never mentions: a question about one cannot be answered from it.

A word counts as a name when it carries a digit, inner capitals (vLLM, LoRA), or is capitalised
and unknown to the embedder's own word-piece vocabulary (Slurm, Pinecone, OTLP). Plain
lowercase words never count, so casual phrasing ("skim", "headaches") is not mistaken for one.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable

import Stemmer

_WORD = re.compile(r"[A-Za-z0-9]+")
_STEM = Stemmer.Stemmer("english").stemWord


class Vocabulary:
    def __init__(self, texts: Iterable[str], word_pieces: Callable[[str], list[str]]) -> None:
        self.words = {w.lower() for text in texts for w in _WORD.findall(text)}
        self._stems = {_STEM(w) for w in self.words}
        self._sorted = sorted(self.words)
        # One-letter deletions of long words catch a typo in either the question or the corpus.
        self._deletions = {d for w in self.words if len(w) >= 5 for d in _deletions(w)}
        self._pieces = word_pieces

    def knows(self, word: str) -> bool:
        w = word.lower()
        if w in self.words or _STEM(w) in self._stems:
            return True
        i = bisect.bisect_left(self._sorted, w)
        if len(w) >= 4 and i < len(self._sorted) and self._sorted[i].startswith(w):
            return True  # an abbreviation of a known word, e.g. "vuln"
        if len(w) >= 5:
            # One letter missing or extra; a swapped letter only in longer words, where it is
            # far less likely to turn one real name into another.
            if w in self._deletions or any(d in self.words for d in _deletions(w)):
                return True
            if len(w) >= 7 and any(d in self._deletions for d in _deletions(w)):
                return True
        return False

    def unknown_names(self, question: str) -> list[str]:
        return [
            w
            for w in dict.fromkeys(_WORD.findall(question))
            if self._is_name(w) and not self.knows(w)
        ]

    def _is_name(self, word: str) -> bool:
        if len(word) < 2 or word.islower():
            return False
        if any(ch.isdigit() for ch in word) or any(
            ch.isupper() for ch in word[1:-1] if not word.isupper()
        ):
            return True
        return len(self._pieces(word.lower())) >= 2


def _deletions(word: str) -> list[str]:
    return [word[:i] + word[i + 1 :] for i in range(len(word))]
