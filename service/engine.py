"""The loaded components (index, embedder, retriever, answerer) and the two things they do."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ingest.embed import Embedder
from ingest.errors import BadInput
from ingest.onnx_encoder import QueryEmbedder, query_embedder
from ingest.store import IndexVersion, load_index
from service import followup, rerankers, schemas, tracing
from service.answering.answer import Answer, ExtractiveAnswerer
from service.answering.citations import render, support_of
from service.answering.generative import GenerativeAnswerer
from service.answering.injection import instructs_model
from service.answering.support import SupportScorer
from service.batching import QueryBatcher
from service.conversation import Turn, standalone
from service.llm import LLM, GenerationsBusy, GenerationStats, LocalLLM, OpenAILLM
from service.query import search_query
from service.retrieval import DenseSearch, Filters, Hit, HybridRetriever
from service.settings import ServiceSettings
from service.vocabulary import Acronyms, Vocabulary

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


def hybrid_retriever(
    settings: ServiceSettings,
    version: IndexVersion,
    embedder: QueryEmbedder,
    dense: DenseSearch | None = None,
) -> HybridRetriever:
    """The retriever the settings describe: the engine's, and the miner of hard negatives that
    ``cnai adapt --cross-encoder`` uses (with its own settings)."""
    return HybridRetriever(
        version,
        embedder,
        candidates=settings.candidates,
        dense_weight=settings.dense_weight,
        sparse_weight=settings.sparse_weight,
        rrf_k=settings.rrf_k,
        rerank_depth=settings.rerank_depth,
        diversity=settings.diversity,
        merge=settings.merge_neighbours,
        heading_weight=settings.heading_weight,
        reranker=rerankers.make(
            settings.reranker,
            settings.reranker_model,
            settings.reranker_url,
            settings.reranker_protocol,
            settings.reranker_model_name,
            settings.reranker_timeout,
            settings.threads,
        ),
        reranker_weight=settings.reranker_weight,
        dense=dense,
    )


class Marks(dict[str, float]):
    """Stage milliseconds that remember when each was set: the stage's end, for tracing."""

    def __init__(self, items: Iterable[tuple[str, float]] = ()) -> None:
        super().__init__(items)  # dataclasses.asdict rebuilds a dict subclass from its items
        self.ended_ns: dict[str, int] = {}

    def __setitem__(self, key: str, value: float) -> None:
        self.ended_ns[key] = time.time_ns()
        super().__setitem__(key, value)

    def setdefault(self, key: str, value: float) -> float:
        if key not in self:
            self[key] = value
        return self[key]


class Timer:
    def __init__(self, tracer: Tracer | None = None, operation: str = "request") -> None:
        self.ms = Marks()
        self._start = time.perf_counter()
        self._start_ns = time.time_ns()
        self._tracer, self._operation = tracer, operation

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.ms[name] = round((time.perf_counter() - start) * 1000, 2)

    def done(self) -> dict[str, float]:
        self.ms["total"] = round((time.perf_counter() - self._start) * 1000, 2)
        if self._tracer is not None:
            ms, ends = dict(self.ms), self.ms.ended_ns
            tracing.record(self._tracer, self._operation, self._start_ns, time.time_ns(), ms, ends)
        return self.ms


@dataclass
class Result:
    hits: list[Hit]
    answer: Answer
    timings: dict[str, float]


class Engine:
    def __init__(
        self,
        settings: ServiceSettings,
        embedder: QueryEmbedder | None = None,
        llms: Mapping[str, LLM] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        """``llms`` supplies ready backends by mode (tests share one loaded model); ``tracer``
        gets one span per stage of each request."""
        self.settings = settings
        self.tracer = tracer
        # The index first: a missing one is reported before the model takes seconds to load.
        model = embedder.model_id if embedder else settings.embedding_model
        self.version: IndexVersion = load_index(settings.index, expect_model=model or None)
        self.embedder: QueryEmbedder = embedder or _query_embedder(settings, self.version)
        self.queries = QueryBatcher(self.embedder, enabled=settings.batch_queries)
        self.retriever = hybrid_retriever(
            settings, self.version, self.embedder, self._dense(settings)
        )
        # Counted at ingest time (format 3); an older index counts them here, as it used to.
        chunks, stored = self.version.chunks, self.version.names
        self.acronyms = Acronyms(
            (c.text for c in chunks), counts=stored.acronyms if stored else None
        )
        vocabulary = Vocabulary(
            (c.embed_text for c in chunks),
            self.embedder.word_pieces,
            words=stored.words if stored else None,
        )
        self.answerer = ExtractiveAnswerer(
            self.version, vocabulary, settings.answer_sentences, settings.min_evidence
        )
        self.scorer = SupportScorer(self.embedder)
        self.generative = GenerativeAnswerer(
            self.answerer, self.scorer, settings.context_tokens, settings.max_new_tokens
        )
        self._llms: dict[str, LLM] = dict(llms or {})
        self._llm_lock = threading.Lock()
        # Generations running at once; a new ask past the bound is refused, not queued.
        self._generations = threading.BoundedSemaphore(settings.max_generations)

    def _dense(self, settings: ServiceSettings) -> DenseSearch | None:
        if settings.store == "milvus":
            from ingest.milvus import MilvusDense

            return MilvusDense(self.version, settings.milvus_uri)
        return None  # the retriever's own FAISS search

    def reloaded(self) -> Engine:
        """An engine over the index's current version, sharing this one's models."""
        return Engine(self.settings, self.embedder, self._llms)

    def llm(self, mode: str) -> LLM | None:
        """The generative backend of ``mode`` (None for extractive), made on first use."""
        if mode == "extractive":
            return None
        with self._llm_lock:
            if mode not in self._llms:
                s = self.settings
                if mode == "local":
                    self._llms[mode] = LocalLLM(s.local_model, s.model_cache, s.threads)
                elif mode == "openai":
                    key = s.openai_api_key.get_secret_value()
                    self._llms[mode] = OpenAILLM(
                        s.openai_base_url, s.openai_model, key, s.openai_timeout
                    )
                else:
                    raise BadInput(f"unknown answer mode {mode!r}: use extractive, local or openai")
            return self._llms[mode]

    def search(self, req: schemas.SearchRequest) -> schemas.SearchResponse:
        timer = Timer(self.tracer, "search")
        _, hits = self._retrieve(req.query, req.k, _filters(req.filters), timer)
        results = [
            schemas.SearchResult(
                chunk_id=h.chunk.chunk_id, text=h.chunk.text, score=h.score, source=source(h)
            )
            for h in hits
        ]
        return schemas.SearchResponse(results=results, timings_ms=timer.done())

    def _retrieve(
        self, query: str, k: int, filters: Filters | None, timer: Timer
    ) -> tuple[np.ndarray, list[Hit]]:
        """The query vector and the passages: rare acronyms spelled out, the source's name out."""
        expanded = self.acronyms.expand(search_query(query))
        with timer.stage("embed"):
            qvec = self.queries.embed(expanded)
        with timer.stage("retrieve"):
            hits = self.retriever.search(expanded, k, filters, qvec, timer.ms)
        return qvec, hits

    def _follow_up(
        self,
        question: str,
        history: Sequence[Turn],
        k: int,
        filters: Filters | None,
        llm: LLM | None,
        timer: Timer,
    ) -> tuple[str, np.ndarray, list[Hit], list[str]]:
        """A question asked in a conversation: its queries searched and fused (service.followup).

        Returns the query the answer is scored against, its vector, the passages and every
        query searched. With ``llm_rewrite`` the backend's standalone rewrite answers instead.
        """
        planned = followup.queries(question, history)
        if self.settings.llm_rewrite and llm is not None:
            with timer.stage("rewrite"):
                rewrite = standalone(question, history, llm)
            planned.insert(0, followup.Query("rewrite", rewrite, 1.0))
        depth = 2 * k  # each query's list runs deeper than k, so fusion has room to choose
        found = []
        with timer.stage("follow_up"):
            for q in planned:
                found.append(self._retrieve(q.text, depth, filters, Timer()))
        ranked = [
            (q.weight, [h.rows for h in hits]) for q, (_, hits) in zip(planned, found, strict=True)
        ]
        chosen = followup.fuse(ranked, k)
        pooled = [h for _, hits in found for h in hits]
        return planned[0].text, found[0][0], [pooled[i] for i in chosen], [q.text for q in planned]

    def run(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        mode: str | None = None,
        history: Sequence[Turn] | None = None,
    ) -> tuple[list[Hit], Answer, dict[str, float]]:
        """Retrieve then answer; the evaluation harness reads the ranked hits too."""
        *_, last = self.stream(question, k, filters, mode, history)
        assert isinstance(last, Result)
        return last.hits, last.answer, last.timings

    def stream(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        mode: str | None = None,
        history: Sequence[Turn] | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[str | Result]:
        """The answer's verified text in pieces, then the Result; stops once ``cancel`` is set."""
        mode = mode or self.settings.answerer
        llm = self.llm(mode)  # an unconfigured backend fails before any work is done
        if llm is None:
            yield from self._stream(question, k, filters, mode, history, cancel, llm)
            return
        if not self._generations.acquire(blocking=False):
            raise GenerationsBusy(
                f"all {self.settings.max_generations} generation slots are busy: retry in a few "
                "seconds, use mode 'extractive', or raise CNAI_MAX_GENERATIONS"
            )
        try:
            yield from self._stream(question, k, filters, mode, history, cancel, llm)
        finally:
            self._generations.release()

    def _stream(
        self,
        question: str,
        k: int,
        filters: Filters | None,
        mode: str,
        history: Sequence[Turn] | None,
        cancel: threading.Event | None,
        llm: LLM | None,
    ) -> Iterator[str | Result]:
        timer = Timer(self.tracer, "ask")
        if history:
            query, qvec, hits, searched = self._follow_up(question, history, k, filters, llm, timer)
        else:
            searched = [question]
            query = question
            qvec, hits = self._retrieve(query, k, filters, timer)
        # Retrieved text is data: a passage that instructs the model is no source of an answer.
        sources = [h for h in hits if not instructs_model(h.chunk.text)]
        if llm is None:
            with timer.stage("answer"):
                answer = self.answerer.answer(query, qvec, sources)
        else:
            found = None
            stats = GenerationStats()
            start = time.perf_counter()
            for event in self.generative.stream(llm, query, qvec, sources, cancel, stats):
                if isinstance(event, Answer):
                    found = event
                    break
                timer.ms.setdefault("first_text", round((time.perf_counter() - start) * 1000, 2))
                yield event
            if found is None:  # cancelled
                return
            answer = found
            timer.ms["answer"] = round((time.perf_counter() - start) * 1000, 2)
            if stats.first_token_s is not None:
                timer.ms["first_token"] = round(stats.first_token_s * 1000, 2)
                timer.ms["generate"] = round(stats.total_s * 1000, 2)
        support = answer.support
        if answer.sentences and not support:
            with timer.stage("support"):
                support = support_of(answer, self.scorer)
        # What only the engine knows goes in once, into a new (frozen) Answer.
        answer = replace(
            answer, support=support, mode=mode, retrieval_query=query, retrieval_queries=searched
        )
        if llm is None:
            if not answer.sentences:
                yield answer.text
            for i, sentence in enumerate(answer.sentences):
                yield (" " if i else "") + render(sentence)
        yield Result(hits, answer, timer.done())

    def ask(self, req: schemas.AskRequest) -> schemas.AskResponse:
        *_, last = self.ask_stream(req)
        assert isinstance(last, schemas.AskResponse)
        return last

    def ask_stream(
        self, req: schemas.AskRequest, cancel: threading.Event | None = None
    ) -> Iterator[str | schemas.AskResponse]:
        """Text pieces of the answer, then the whole response (what /v1/ask returns)."""
        history = [(t.role, t.content) for t in req.history]
        events = self.stream(req.question, req.k, _filters(req.filters), req.mode, history, cancel)
        for event in events:
            yield response(event) if isinstance(event, Result) else event


def response(result: Result) -> schemas.AskResponse:
    answer = result.answer
    citations = [
        schemas.Citation(id=n, chunk_id=h.chunk.chunk_id, text=h.chunk.text, source=source(h))
        for n, h in enumerate(answer.citations, start=1)
    ]
    sentences = [
        schemas.AnswerSentence(text=s.text, citations=s.citations, support=support)
        for s, support in zip(answer.sentences, answer.support, strict=False)
    ]
    return schemas.AskResponse(
        answer=answer.text,
        abstained=answer.abstained,
        citations=citations,
        timings_ms=result.timings,
        mode=answer.mode,
        fallback=answer.fallback,
        dropped=answer.dropped,
        retrieval_query=answer.retrieval_query,
        retrieval_queries=answer.retrieval_queries,
        evidence=answer.evidence,
        why_abstained=answer.why_abstained,
        sentences=sentences,
    )


def _query_embedder(settings: ServiceSettings, version: IndexVersion) -> QueryEmbedder:
    model, threads = version.manifest.model, settings.threads
    if settings.query_encoder == "onnx":
        return query_embedder(model, settings.model_cache, threads)
    return Embedder(model, threads=threads)


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
