"""The extractive answerer: pick the retrieved sentences that best answer, cite each one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ingest.store import IndexVersion
from service.retrieval import Hit, content_words
from service.vocabulary import Vocabulary

ABSTAIN_MESSAGE = (
    "I could not find this in the knowledge base, so I will not guess. "
    "Try rephrasing, or ask about the Cloud Native AI whitepaper, the working group or its talks."
)
UNKNOWN_MESSAGE = (
    "The knowledge base never mentions {names}, so I cannot answer this from it without guessing."
)
NO_FIGURE_MESSAGE = (
    "The passages I found on this do not give the figure you asked for, so I will not guess."
)
_MAX_WORDS = 110
# Questions that ask for a figure are only answered by sentences that hold one.
_ASKS_FIGURE = re.compile(
    r"\b(how many|what (?:percentage|percent|year)|by what percentage|in what year|"
    r"how much (?:does|did|do|is|was|will)\b.*\b(?:cost|pay|save|use|consume)|how long did)",
    re.IGNORECASE,
)
_FIGURE = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|half|double|twice|dozen)\b",
    re.IGNORECASE,
)
_LIST_ITEMS = 6


@dataclass
class Answer:
    text: str
    abstained: bool
    citations: list[Hit] = field(default_factory=list)  # citation n is citations[n - 1]


@dataclass(eq=False)
class _Candidate:
    hit_rank: int
    position: int
    text: str
    vector: np.ndarray
    cosine: float
    score: float


class ExtractiveAnswerer:
    def __init__(
        self,
        version: IndexVersion,
        vocabulary: Vocabulary,
        max_sentences: int = 3,
        min_evidence: float = 0.3,
    ) -> None:
        self.version = version
        self.vocabulary = vocabulary
        self.max_sentences = max_sentences
        self.min_evidence = min_evidence
        self._rows = {c.chunk_id: i for i, c in enumerate(version.chunks)}

    def answer(self, question: str, qvec: np.ndarray, hits: list[Hit]) -> Answer:
        unknown = self.vocabulary.unknown_names(question)
        if unknown:
            names = " or ".join(f"'{n}'" for n in unknown)
            return Answer(UNKNOWN_MESSAGE.format(names=names), abstained=True)
        words = content_words(question)
        candidates = [
            c for rank, hit in enumerate(hits) for c in self._score(rank, hit, qvec, words)
        ]
        # Evidence is the best single sentence: a passage on the right topic is not enough.
        if not candidates or max(c.cosine for c in candidates) < self.min_evidence:
            return Answer(ABSTAIN_MESSAGE, abstained=True)
        if _ASKS_FIGURE.search(question):
            candidates = [c for c in candidates if _FIGURE.search(c.text)]
            if not candidates:
                return Answer(NO_FIGURE_MESSAGE, abstained=True)
        chosen = self._select(candidates)
        return self._compose(chosen, hits)

    def _score(self, rank: int, hit: Hit, qvec: np.ndarray, words: set[str]) -> list[_Candidate]:
        texts, vectors = self.version.sentences(self._rows[hit.chunk.chunk_id])
        if not texts:
            return []
        cosine = vectors @ qvec
        out = []
        for i, (text, vec) in enumerate(zip(texts, vectors, strict=True)):
            overlap = len(words & content_words(text)) / len(words) if words else 0.0
            # The sentence itself, the passage it sits in (headings included) and the words shared.
            score = 0.55 * float(cosine[i]) + 0.35 * hit.dense + 0.2 * overlap - 0.02 * rank
            out.append(_Candidate(rank, i, text, vec, float(cosine[i]), score))
        return out

    def _select(self, candidates: list[_Candidate]) -> list[_Candidate]:
        ranked = sorted(candidates, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best]
        if best.text.rstrip().endswith(":"):
            # A sentence that introduces a list is only useful with the items that follow it.
            items = [
                c
                for c in candidates
                if c.hit_rank == best.hit_rank
                and best.position < c.position <= best.position + _LIST_ITEMS
            ]
            chosen += items
        limit = self.max_sentences + len(chosen) - 1
        for cand in ranked[1:]:
            if len(chosen) >= limit or cand.score < best.score - 0.12:
                break
            if cand in chosen or any(float(cand.vector @ c.vector) > 0.9 for c in chosen):
                continue
            if sum(len(c.text.split()) for c in chosen) + len(cand.text.split()) > _MAX_WORDS:
                continue
            chosen.append(cand)
        return chosen

    def _compose(self, chosen: list[_Candidate], hits: list[Hit]) -> Answer:
        ordered = sorted(chosen, key=lambda c: (c.hit_rank, c.position))
        numbers: dict[int, int] = {}
        parts = []
        for cand in ordered:
            n = numbers.setdefault(cand.hit_rank, len(numbers) + 1)
            text = " ".join(cand.text.split())
            parts.append(f"{text} [{n}]")
        citations = [hits[rank] for rank in sorted(numbers, key=numbers.__getitem__)]
        return Answer(" ".join(parts), abstained=False, citations=citations)
