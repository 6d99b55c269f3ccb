"""The extractive answerer: pick the retrieved sentences that best answer, cite each one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import takewhile

import numpy as np

from ingest.store import IndexVersion
from ingest.text import content_words, in_list
from service.answering import figures
from service.answering.abstention import Abstention, Model
from service.answering.tuning import ANSWER, AnswerTuning
from service.retrieval import Hit
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
MISSING_MESSAGE = (
    "The passages I found on this topic do not say what you asked, so I will not guess."
)
_MESSAGES = {"weak_evidence": ABSTAIN_MESSAGE, "no_figure": NO_FIGURE_MESSAGE}
_FIGURE_MARGIN = ANSWER.figure_margin  # the name screen reads; the value lives in tuning
# "This page describes ..." names its document, not the sentence before.
_POINTS_BACK = re.compile(
    r"(?:This|These|That|Those|It|They|Such|Each of (?:these|them)|Both)\b(?!-| (?:page|guide|"
    r"(?:sub-?)?section|document|doc|tutorial|article|post|paper|whitepaper|chapter|example|blog)\b)"
)


@dataclass(frozen=True)
class Sentence:
    text: str  # without its [n] markers
    citations: list[int]  # the n of its markers, 1-based into Answer.citations


@dataclass(frozen=True)
class Answer:
    """An answer with everything the API returns; frozen, so it is built once with all fields
    (the engine adds what only it knows, the mode and the queries, by ``dataclasses.replace``)."""

    text: str
    abstained: bool
    citations: list[Hit] = field(default_factory=list)  # citation n is citations[n - 1]
    sentences: list[Sentence] = field(default_factory=list)
    # Support of each sentence by the passages it cites (answering.support), one per sentence.
    support: list[float] = field(default_factory=list)
    mode: str = "extractive"  # the backend asked for (see fallback)
    fallback: bool = False  # a generated answer had no supported sentence: this is extractive
    dropped: int = 0  # generated sentences removed because no passage supported them
    retrieval_query: str = ""  # what was searched: the question, or its standalone rewrite
    retrieval_queries: list[str] = field(default_factory=list)  # every query fused, when several
    # Cosine similarity of the best retrieved sentence to the question (None: no sentence).
    evidence: float | None = None
    # A reason code of service.answering.abstention.REASONS (README "Abstention").
    why_abstained: str | None = None
    # The abstention model's probability that the passages cannot answer (None: not asked).
    abstention_probability: float | None = None


@dataclass(eq=False)
class _Candidate:
    hit_rank: int
    position: int
    text: str
    vector: np.ndarray
    cosine: float
    score: float
    in_list: bool = False  # opens a list item or goes on with one (ingest.text.in_list)


def _stands_alone(cand: _Candidate) -> bool:
    """Can the sentence open an answer: a statement (not a question, not a line introducing a
    list) that does not point back to a sentence before it?"""
    text = cand.text.strip()
    return not text.rstrip("*_ ").endswith(("?", ":")) and not _POINTS_BACK.match(text)


def _opens_list(cand: _Candidate) -> bool:
    """A line ending in ":" introduces the lines after it, a list or prose."""
    return cand.text.rstrip().endswith(":")


@dataclass
class Screened:
    """What passed the abstention rules: the sentences an answer may use, and the evidence."""

    candidates: list[_Candidate]
    evidence: float
    probability: float | None = None  # the abstention model's, below its threshold


class ExtractiveAnswerer:
    def __init__(
        self,
        version: IndexVersion,
        vocabulary: Vocabulary,
        max_sentences: int = 4,
        min_evidence: float = 0.2,
        tuning: AnswerTuning = ANSWER,
        abstention: Model | None = None,  # None: the fitted model shipped with the package
    ) -> None:
        self.version = version
        self.tuning = tuning
        self.vocabulary = vocabulary
        self.max_sentences = max_sentences
        self.min_evidence = min_evidence
        self.abstention = Abstention(version, vocabulary, abstention)

    def answer(self, question: str, qvec: np.ndarray, hits: list[Hit]) -> Answer:
        screened = self.screen(question, qvec, hits)
        if isinstance(screened, Answer):
            return screened
        chosen = self._select(screened.candidates)
        return self._compose(chosen, hits, screened.evidence, screened.probability)

    def screen(self, question: str, qvec: np.ndarray, hits: list[Hit]) -> Answer | Screened:
        """The abstention the question calls for, or the sentences an answer may use.

        Generated answers go through the same screen before any generation starts. Below the
        ``min_evidence`` floor, or on a name the corpus never mentions, it declines outright;
        otherwise the calibrated model (service.answering.abstention) decides. Either way the
        evidence (the best sentence's similarity to the question) comes along.
        """
        candidates = self.candidates(question, qvec, hits)
        evidence = max((c.cosine for c in candidates), default=None)

        def decline(text: str, why: str, p: float | None = None) -> Answer:
            return Answer(
                text, True, evidence=evidence, why_abstained=why, abstention_probability=p
            )

        # Evidence is the best single sentence: a passage on the right topic is not enough.
        if evidence is None or evidence < self.min_evidence:
            return decline(ABSTAIN_MESSAGE, "weak_evidence")
        # Every tune question naming what the corpus never mentions was unanswerable.
        unknown = self.vocabulary.unknown_names(question)
        if unknown:
            names = " or ".join(f"'{n}'" for n in unknown)
            return decline(UNKNOWN_MESSAGE.format(names=names), "unknown_name")
        decision = self.abstention.decide(question, hits, candidates)
        if decision.abstain:
            reason = decision.reason or "weak_evidence"
            return decline(_MESSAGES.get(reason, MISSING_MESSAGE), reason, decision.probability)
        kind = figures.asked_kind(question)
        if kind:  # quote the sentences that give the kind of answer asked, when some do
            best = max(c.score for c in candidates)
            giving = [
                c
                for c in candidates
                if figures.gives(kind, c.text, question) and c.score >= best - _FIGURE_MARGIN
            ]
            candidates = giving or candidates
        return Screened(candidates, evidence, decision.probability)

    def candidates(self, question: str, qvec: np.ndarray, hits: list[Hit]) -> list[_Candidate]:
        """Every sentence of the passages, scored as an answer to the question."""
        words = content_words(question)
        return [c for rank, hit in enumerate(hits) for c in self._score(rank, hit, qvec, words)]

    def _score(
        self, rank: int, hit: Hit, qvec: np.ndarray, words: frozenset[str]
    ) -> list[_Candidate]:
        parts = [self.version.sentences(row) for row in hit.rows]
        texts = [text for part, _ in parts for text in part]
        if not texts:
            return []
        vectors = np.vstack([v for _, v in parts])
        listed = [
            flag
            for row in hit.rows
            for flag in in_list(self.version.chunks[row].text, self.version.spans[row])
        ]
        cosine = vectors @ qvec
        out = []
        for i, (text, vec) in enumerate(zip(texts, vectors, strict=True)):
            overlap = len(words & content_words(text)) / len(words) if words else 0.0
            # The sentence itself, the passage it sits in (headings included) and the words shared.
            score = (
                self.tuning.w_sentence * float(cosine[i])
                + self.tuning.w_passage * hit.dense
                + self.tuning.w_overlap * overlap
                - self.tuning.w_rank * rank
            )
            out.append(_Candidate(rank, i, text, vec, float(cosine[i]), score, listed[i]))
        return out

    def _select(self, candidates: list[_Candidate]) -> list[list[_Candidate]]:
        """The quotes that carry most of the answer within the word budget.

        A quote is a sentence with what it needs around it (see _quote). Each sentence in it is
        worth its score above the cut-off, so a list whose items each answer a little outranks
        one sentence that answers a little more.
        """
        ranked = sorted(candidates, key=lambda c: -c.score)
        cutoff = ranked[0].score - self.tuning.score_range
        quotes = []
        for cand in ranked:
            if cand.score < cutoff:
                break
            group = self._quote(cand, candidates)
            quotes.append((sum(max(0.0, c.score - cutoff) for c in group), cand, group))
        quotes.sort(key=lambda quote: -quote[0])
        chosen: list[_Candidate] = []
        groups: list[list[_Candidate]] = []
        for _, cand, group in quotes:
            if len(groups) >= self.max_sentences:
                break
            if cand in chosen or any(
                float(cand.vector @ c.vector) > self.tuning.near_duplicate for c in chosen
            ):
                continue
            group = [c for c in group if c not in chosen]
            words = sum(len(c.text.split()) for c in chosen + group)
            if chosen and words > self.tuning.max_words:
                continue
            chosen += group
            groups.append(group)
        return groups

    def _quote(self, cand: _Candidate, candidates: list[_Candidate]) -> list[_Candidate]:
        """``cand`` with the sentence it points back to or the list items it opens; a list item
        comes with the line that introduces its list and the other items, never alone."""
        intro = self._intro(cand, candidates)
        if intro is not None:
            items = self._items_after(intro, candidates)
            if cand in items:
                return [intro, *items]
        return self._before(cand, candidates) + [cand] + self._items_after(cand, candidates)

    @staticmethod
    def _intro(cand: _Candidate, candidates: list[_Candidate]) -> _Candidate | None:
        """The line ending in ":" that introduces the list ``cand`` is an item of, if any."""
        if not cand.in_list:
            return None
        passage = {c.position: c for c in candidates if c.hit_rank == cand.hit_rank}
        position = cand.position - 1
        while position in passage and passage[position].in_list:
            position -= 1
        intro = passage.get(position)
        return intro if intro is not None and _opens_list(intro) else None

    @staticmethod
    def _before(cand: _Candidate, candidates: list[_Candidate]) -> list[_Candidate]:
        """A sentence that opens on "These" or "It" needs the sentence it points back to."""
        if cand.position == 0 or not _POINTS_BACK.match(cand.text.lstrip()):
            return []
        return [
            c for c in candidates if c.hit_rank == cand.hit_rank and c.position == cand.position - 1
        ]

    def _items_after(self, cand: _Candidate, candidates: list[_Candidate]) -> list[_Candidate]:
        """A sentence that introduces a list is only useful with the lines that follow it."""
        if not _opens_list(cand):
            return []
        after = sorted(
            (
                c
                for c in candidates
                if c.hit_rank == cand.hit_rank
                and cand.position < c.position <= cand.position + self.tuning.list_items
            ),
            key=lambda c: c.position,
        )
        if after and after[0].in_list:  # the list ends where its last item does
            return list(takewhile(lambda c: c.in_list, after))
        return after  # it introduces prose

    def _compose(
        self,
        groups: list[list[_Candidate]],
        hits: list[Hit],
        evidence: float,
        probability: float | None = None,
    ) -> Answer:
        """The quotes as one cited answer, the quote that answers first.

        The lead is the most valuable quote that opens on a sentence standing alone (see
        _stands_alone); the others follow in passage order. A quote keeps its inner order, so
        a list's intro stays before its items and a pointing-back sentence after its antecedent.
        """
        lead = next((g for g in groups if _stands_alone(g[0])), groups[0])
        ordered = lead + sorted(
            (c for g in groups if g is not lead for c in g), key=lambda c: (c.hit_rank, c.position)
        )
        numbers: dict[int, int] = {}
        parts = []
        sentences = []
        for cand in ordered:
            n = numbers.setdefault(cand.hit_rank, len(numbers) + 1)
            text = " ".join(cand.text.split())
            parts.append(f"{text} [{n}]")
            sentences.append(Sentence(text, [n]))
        citations = [hits[rank] for rank in sorted(numbers, key=numbers.__getitem__)]
        return Answer(
            " ".join(parts),
            abstained=False,
            citations=citations,
            sentences=sentences,
            evidence=evidence,
            abstention_probability=probability,
        )
