"""Verified citations: every generated sentence is checked against the passages it cites.

A sentence that no passage supports is dropped; one whose markers point at the wrong passage
(or at none) is cited to the passage that supports it best. Citation ids are numbered by first
use, so only cited passages are returned and no marker points nowhere. Sentences are checked
one at a time as they complete, so a streamed answer shows only verified text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.text import sentence_spans
from service.answering.answer import Answer, Sentence
from service.answering.injection import instructs_model
from service.answering.support import SUPPORTED, SupportScorer
from service.retrieval import Hit

_IDS = r"\d+(?:\s*[,;]\s*\d+)*"
MARKER = re.compile(rf"\s*\[({_IDS})\]")
_AFTER_STOP = re.compile(rf"([.!?])((?:\s*\[{_IDS}\])+)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")


@dataclass
class Claim:
    text: str  # the sentence without markers
    cited: list[int]  # 0-based passage indices its markers name; out-of-range ones are dropped


def claims(text: str, passages: int) -> list[Claim]:
    """The sentences of a generated answer with the passages each one cites."""
    # "GPUs. [1] Each" would split before the marker; put it in front of the full stop.
    norm = _AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), text)
    out = []
    for start, end in sentence_spans(norm):
        raw = norm[start:end]
        cited: list[int] = []
        for match in MARKER.finditer(raw):
            for number in re.split(r"\s*[,;]\s*", match.group(1)):
                i = int(number) - 1
                if 0 <= i < passages and i not in cited:
                    cited.append(i)
        clean = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(MARKER.sub("", raw).split()))
        if clean:
            out.append(Claim(clean, cited))
    return out


class SentenceStream:
    """The complete sentences of a text that arrives piece by piece."""

    def __init__(self, passages: int) -> None:
        self.passages = passages
        self.text = ""
        self._done = 0

    def feed(self, piece: str) -> list[Claim]:
        self.text += piece
        # The last sentence may still grow; every one before it is final.
        found = claims(self.text, self.passages)[:-1]
        return self._new(found)

    def close(self) -> list[Claim]:
        return self._new(claims(self.text, self.passages))

    def _new(self, found: list[Claim]) -> list[Claim]:
        fresh = found[self._done :]
        self._done = max(self._done, len(found))
        return fresh


@dataclass
class CitationChecker:
    """Checks claims one by one against the retrieved passages and numbers what they cite."""

    scorer: SupportScorer
    hits: Sequence[Hit]
    sentences: list[Sentence] = field(default_factory=list)
    support: list[float] = field(default_factory=list)
    dropped: int = 0
    _order: list[int] = field(default_factory=list)  # hit indices in citation order

    def check(self, claim: Claim) -> str | None:
        """The sentence with its renumbered markers, or None when it is dropped."""
        if any(s.text.lower() == claim.text.lower() for s in self.sentences):
            self.dropped += 1  # a small model repeats itself
            return None
        if instructs_model(claim.text):
            self.dropped += 1  # an instruction planted in a document, echoed by the model
            return None
        scores = self.scorer.score([claim.text], [h.chunk.text for h in self.hits])[0]
        keep = [i for i in claim.cited if scores[i] >= SUPPORTED]
        if not keep:
            best = int(scores.argmax()) if len(scores) else -1
            if best < 0 or scores[best] < SUPPORTED:
                self.dropped += 1
                return None
            keep = [best]
        ids = []
        for i in keep:
            if i not in self._order:
                self._order.append(i)
            ids.append(self._order.index(i) + 1)
        self.sentences.append(Sentence(claim.text, ids))
        self.support.append(round(float(max(scores[i] for i in keep)), 4))
        return render(self.sentences[-1])

    def answer(self, mode: str, evidence: float | None = None) -> Answer:
        return Answer(
            " ".join(render(s) for s in self.sentences),
            abstained=False,
            citations=[self.hits[i] for i in self._order],
            sentences=list(self.sentences),
            support=list(self.support),
            mode=mode,
            dropped=self.dropped,
            evidence=evidence,
        )


def render(sentence: Sentence) -> str:
    return f"{sentence.text} " + "".join(f"[{n}]" for n in sentence.citations)


def support_of(answer: Answer, scorer: SupportScorer) -> list[float]:
    """Each sentence's support by the passages it cites, scored like generated sentences."""
    if not answer.sentences or not answer.citations:
        return []
    passages = [h.chunk.text for h in answer.citations]
    # Only the cited passages matter, so quoted sentences need no embedding at all.
    return [
        round(float(scorer.score([s.text], [passages[n - 1] for n in s.citations]).max()), 4)
        if s.citations
        else 0.0
        for s in answer.sentences
    ]
