"""Names the knowledge base never mentions: a question about one cannot be answered from it.

A word counts as a name when it carries a digit, inner capitals (vLLM, LoRA), or is capitalised
and unknown to the embedder's own word-piece vocabulary (Slurm, Pinecone, OTLP). Plain
lowercase words never count, so casual phrasing ("skim", "headaches") is not mistaken for one.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

import Stemmer

from ingest.names import WORD as _WORD
from ingest.names import AcronymCounts, acronym_counts, corpus_words

_STEM = Stemmer.Stemmer("english").stemWord


class Vocabulary:
    def __init__(
        self,
        texts: Iterable[str],
        word_pieces: Callable[[str], list[str]],
        words: Iterable[str] | None = None,
    ) -> None:
        """The words of ``texts``, or ``words`` as an index stores them (ingest.names)."""
        self.words = set(words) if words is not None else corpus_words(texts)
        self._stems = {_STEM(w) for w in self.words}
        self._sorted = sorted(self.words)
        # One-letter deletions of long words catch a typo in either the question or the corpus.
        self._deletions = {d for w in self.words if len(w) >= 5 for d in _deletions(w)}
        self._pieces = word_pieces

    def knows(self, word: str) -> bool:
        w = word.lower()
        # The stemmer leaves an acronym's plural alone: "GPUs" is not "GPU" to it.
        if {w, w + "s", w.removesuffix("s")} & self.words or _STEM(w) in self._stems:
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


class Acronyms:
    """Acronyms the corpus spells out, e.g. "Multi-Instance GPU (MIG)".

    A small embedder often does not know an acronym; adding its expansion to the query lets it
    match passages that use either form.
    """

    def __init__(
        self,
        texts: Iterable[str],
        max_share: float = 0.05,
        counts: AcronymCounts | None = None,
    ) -> None:
        """Counted in ``texts``, or taken from ``counts`` as an index stores them."""
        if counts is None:
            counts = acronym_counts(list(texts))
        # Acronyms the corpus uses everywhere (AI, GPU) are well known; expanding them only
        # drowns the rest of the question.
        limit = max(1.0, max_share * counts.texts)
        self.expansions = {
            s: max(c, key=lambda k: c[k])
            for s, c in counts.found.items()
            if counts.uses[s] <= limit
        }

    def expand(self, question: str) -> str:
        extra = [
            self.expansions[w]
            for w in dict.fromkeys(_WORD.findall(question))
            if w in self.expansions and self.expansions[w].lower() not in question.lower()
        ]
        return f"{question} ({'; '.join(extra)})" if extra else question
