"""The loaded components (index, embedder, retriever, answerer) and the two things they do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.embed import Embedder
from ingest.store import IndexVersion, load_index
from service import schemas
from service.answer import Answer, ExtractiveAnswerer
from service.retrieval import Filters, Hit, HybridRetriever
from service.settings import ServiceSettings
from service.vocabulary import Vocabulary


class Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.ms[name] = round((time.perf_counter() - start) * 1000, 2)

    def done(self) -> dict[str, float]:
        self.ms["total"] = round((time.perf_counter() - self._start) * 1000, 2)
        return self.ms


class Engine:
    def __init__(self, settings: ServiceSettings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        # The index first: a missing one is reported before the model takes seconds to load.
        model = embedder.model_id if embedder else settings.embedding_model
        self.version: IndexVersion = load_index(settings.index, expect_model=model)
        self.embedder = embedder or Embedder(settings.embedding_model, threads=settings.threads)
        self.retriever = HybridRetriever(
            self.version,
            self.embedder,
            candidates=settings.candidates,
            dense_weight=settings.dense_weight,
            sparse_weight=settings.sparse_weight,
            rrf_k=settings.rrf_k,
        )
        vocabulary = Vocabulary(
            (c.embed_text for c in self.version.chunks), self.embedder.word_pieces
        )
        self.answerer = ExtractiveAnswerer(
            self.version, vocabulary, settings.answer_sentences, settings.min_evidence
        )

    def search(self, req: schemas.SearchRequest) -> schemas.SearchResponse:
        timer = Timer()
        with timer.stage("embed"):
            qvec = self.embedder.embed_query(req.query)
        with timer.stage("retrieve"):
            hits = self.retriever.search(req.query, req.k, _filters(req.filters), qvec)
        results = [
            schemas.SearchResult(
                chunk_id=h.chunk.chunk_id, text=h.chunk.text, score=h.score, source=source(h)
            )
            for h in hits
        ]
        return schemas.SearchResponse(results=results, timings_ms=timer.done())

    def run(
        self, question: str, k: int = 5, filters: Filters | None = None
    ) -> tuple[list[Hit], Answer, dict[str, float]]:
        """Retrieve then answer; the evaluation harness reads the ranked hits too."""
        timer = Timer()
        with timer.stage("embed"):
            qvec = self.embedder.embed_query(question)
        with timer.stage("retrieve"):
            hits = self.retriever.search(question, k, filters, qvec)
        with timer.stage("answer"):
            answer = self.answerer.answer(question, qvec, hits)
        return hits, answer, timer.done()

    def ask(self, req: schemas.AskRequest) -> schemas.AskResponse:
        _, answer, timings = self.run(req.question, req.k, _filters(req.filters))
        citations = [
            schemas.Citation(id=n, chunk_id=h.chunk.chunk_id, text=h.chunk.text, source=source(h))
            for n, h in enumerate(answer.citations, start=1)
        ]
        return schemas.AskResponse(
            answer=answer.text,
            abstained=answer.abstained,
            citations=citations,
            timings_ms=timings,
        )


def _filters(f: schemas.Filters | None) -> Filters | None:
    return Filters(f.kind, f.document, f.project) if f else None


def source(hit: Hit) -> schemas.Source:
    c = hit.chunk
    page = c.meta.get("page")
    start = c.meta.get("start")
    return schemas.Source(
        path=c.doc_path,
        title=c.title,
        section=c.section,
        url=c.url,
        kind=c.kind,
        page=int(page) if page is not None else None,
        start=str(start) if start is not None else None,
    )
