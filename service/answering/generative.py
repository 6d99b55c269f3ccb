"""Generated answers: the extractive path's abstention rules, a short prompt, then verification.

The stream yields verified sentences as they complete and then the Answer; when no generated
sentence survives verification the extractive answer is given instead, flagged ``fallback``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from service.answering.answer import Answer, ExtractiveAnswerer
from service.answering.citations import CitationChecker, Claim, SentenceStream
from service.answering.support import SupportScorer
from service.llm import LLM, GenerationStats
from service.prompts import answer_messages, pack
from service.retrieval import Hit


class GenerativeAnswerer:
    def __init__(
        self,
        extractive: ExtractiveAnswerer,
        scorer: SupportScorer,
        context_tokens: int = 600,
        max_new_tokens: int = 160,
    ) -> None:
        self.extractive = extractive
        self.scorer = scorer
        self.context_tokens = context_tokens
        self.max_new_tokens = max_new_tokens

    def stream(
        self,
        llm: LLM,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str | Answer]:
        """Verified sentences (with their final [n] markers) as they come, then the Answer.

        Nothing more is yielded once ``cancel`` is set.
        """
        cancel = cancel or threading.Event()
        screened = self.extractive.screen(question, qvec, hits)
        if isinstance(screened, Answer):  # no generation for what the rules refuse
            yield screened.text
            yield screened
            return
        passages = pack(hits, self.context_tokens, llm.count_tokens)
        messages = answer_messages(question, passages)
        checker = CitationChecker(self.scorer, hits)
        sentences = SentenceStream(len(passages))
        shown = 0
        pieces = llm.stream(messages, self.max_new_tokens, cancel, stats)

        def claims() -> Iterator[Claim]:
            for piece in pieces:
                yield from sentences.feed(piece)
                if cancel.is_set():
                    return
            yield from sentences.close()

        for claim in claims():
            text = checker.check(claim)
            if text:
                yield (" " if shown else "") + text
                shown += 1
        if cancel.is_set():
            return
        if checker.sentences:
            yield checker.answer(llm.name, screened.evidence)
            return
        extractive = self.extractive.answer(question, qvec, hits)
        fallback = replace(extractive, fallback=True, dropped=checker.dropped)
        yield fallback.text
        yield fallback
