"""Hybrid retrieval: BM25 and FAISS dense rankings fused by reciprocal rank."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ingest import lexicon
from ingest.chunker import SUBHEADING, Chunk
from ingest.names import heading_words
from ingest.onnx_encoder import QueryEmbedder
from ingest.store import IndexVersion
from ingest.text import tokenize
from service.rerankers import Reranker, blend

_MERGE_SPAN = 2  # chunks per passage at most
# A code block or table alone has no sentence to quote, and its cosine rests on its headings:
# it stands in for its own best sentence, less this margin.
_UNQUOTABLE_MARGIN = 0.2


@dataclass
class Hit:
    chunk: Chunk  # one indexed chunk, or neighbouring chunks joined (see _neighbours)
    score: float  # rerank score, or the fused reciprocal-rank score when reranking is off
    dense: float  # cosine similarity of the chunk to the query
    rows: tuple[int, ...] = ()  # the index rows it spans, in document order


@dataclass
class Filters:
    kind: str | None = None
    document: str | None = None  # a document id, or a folder prefix of one
    project: str | None = None  # the first path component, e.g. "kserve"


class DenseSearch(Protocol):
    """The dense half of hybrid search: FAISS in the index folder, or a Milvus collection."""

    def search(
        self, qvec: np.ndarray, pool: int, allowed: np.ndarray | None
    ) -> tuple[dict[int, float], list[int]]:
        """Cosines of the rows it saw, and the ``pool`` best ``allowed`` rows, best first."""
        ...


class FaissDense:
    """Exact search of the version's FAISS index; with a filter, every row is ranked so the
    best ``pool`` allowed ones are found."""

    def __init__(self, version: IndexVersion) -> None:
        self.vectors = version.vectors

    def search(
        self, qvec: np.ndarray, pool: int, allowed: np.ndarray | None
    ) -> tuple[dict[int, float], list[int]]:
        depth = self.vectors.ntotal if allowed is not None else pool
        sims, ids = self.vectors.search(qvec.reshape(1, -1), depth)
        dense = {int(i): float(s) for i, s in zip(ids[0], sims[0], strict=True) if i >= 0}
        return dense, [i for i in dense if allowed is None or allowed[i]][:pool]


class HybridRetriever:
    def __init__(
        self,
        version: IndexVersion,
        embedder: QueryEmbedder,
        candidates: int = 50,
        dense_weight: float = 1.0,
        sparse_weight: float = 1.0,
        rrf_k: int = 60,
        rerank_depth: int = 30,
        diversity: float = 0.2,
        merge: bool = True,
        heading_weight: float = 0.2,
        reranker: Reranker | None = None,
        reranker_weight: float = 0.5,
        dense: DenseSearch | None = None,
    ) -> None:
        self.version = version
        self.dense = dense or FaissDense(version)
        self.chunks = version.chunks
        self.embedder = embedder
        self.candidates = candidates
        self.weights = (dense_weight, sparse_weight)
        self.rrf_k = rrf_k
        self.rerank_depth = rerank_depth
        self.diversity = diversity
        self.merge = merge
        self.heading_weight = heading_weight
        self.reranker = reranker
        self.reranker_weight = reranker_weight
        stored = version.names.headings if version.names else None
        self._headings = HeadingMatch(self.chunks, stored)
        # Stored at ingest time; a format-1 index (before it was) builds it here, as it used to.
        self._bm25 = version.bm25 or lexicon.build([c.embed_text for c in self.chunks])

    def search(
        self,
        query: str,
        k: int = 5,
        filters: Filters | None = None,
        qvec: np.ndarray | None = None,
        notes: dict[str, float] | None = None,
    ) -> list[Hit]:
        """The top ``k`` passages; ``notes`` receives the second-stage reranker's milliseconds
        (``rerank_<name>``), and ``rerank_fallback`` when it failed and the order was kept."""
        n = len(self.chunks)
        if n == 0:
            return []
        if qvec is None:
            qvec = self.embedder.embed_query(query)
        allowed = self._mask(filters)
        pool = min(n, max(self.candidates, k))

        dense, dense_rank = self.dense.search(qvec, pool, allowed)

        terms = tokenize([query])[0]
        sparse_rank: list[int] = []
        bm: np.ndarray | None = None
        if terms:
            bm = self._bm25.get_scores(terms)
            if allowed is not None:
                bm = np.where(allowed, bm, 0.0)
            best_bm = np.argsort(-bm)[:pool]
            sparse_rank = [int(i) for i in best_bm if bm[i] > 0]

        fused: dict[int, float] = {}
        for weight, ranking in zip(self.weights, (dense_rank, sparse_rank), strict=True):
            for rank, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + weight / (self.rrf_k + rank + 1)
        if not fused:  # a filter no chunk passes
            return []
        order = sorted(fused, key=lambda i: -fused[i])
        scores = fused

        def similarity(i: int) -> float:
            """The chunk's cosine to the query: from the dense search, or computed once."""
            if i not in dense:
                dense[i] = self._cosine(qvec, i)
            return dense[i]

        if self.rerank_depth:
            top = order[: max(k, self.rerank_depth)]
            cosine = {i: similarity(i) for i in top}
            scores = self._rerank(top, qvec, cosine, bm, terms)
            if self.reranker is not None:
                texts = [self.chunks[i].embed_text for i in top]
                outcome = blend(self.reranker, query, top, texts, scores, self.reranker_weight)
                scores = outcome.scores
                if notes is not None:
                    notes[f"rerank_{self.reranker.name}"] = outcome.ms
                    if outcome.failed:
                        notes["rerank_fallback"] = 1.0
            order = sorted(top, key=lambda i: -scores[i])
            if self.diversity:  # on rerank scores: reciprocal-rank scores are on another scale
                order = self._diverse(order, scores, 2 * k)  # room for neighbours to merge
        groups = self._neighbours(order, k) if self.merge else [[i] for i in order[:k]]
        return [self._hit(group, scores, similarity) for group in groups]

    def _neighbours(self, order: list[int], k: int) -> list[list[int]]:
        """The top ``k`` passages, neighbouring chunks of one document among them joined.

        Two adjacent slices of one text that both made the top k are one passage cut by the
        chunker: together they carry the context each lacks, and the place they free goes to
        the next passage. Nothing that missed the top k is joined on.
        """
        groups: list[list[int]] = []
        for rank, i in enumerate(order):
            home = None
            if rank < k:
                open_groups = (g for g in groups if len(g) < _MERGE_SPAN)
                home = next((g for g in open_groups if any(self._adjacent(i, j) for j in g)), None)
            if home is not None:
                home.append(i)
            elif len(groups) < k:
                groups.append([i])
            else:
                break
        return groups

    def _adjacent(self, a: int, b: int) -> bool:
        x, y = self.chunks[a], self.chunks[b]
        return x.doc_path == y.doc_path and abs(x.ordinal - y.ordinal) == 1

    def _hit(
        self, group: list[int], scores: dict[int, float], similarity: Callable[[int], float]
    ) -> Hit:
        """The group's best score; its chunks in document order, each new heading kept."""
        best = group[0]
        cosine = max(similarity(i) for i in group)
        rows = tuple(sorted(group, key=lambda i: self.chunks[i].ordinal))
        if len(rows) == 1:
            return Hit(self.chunks[best], scores[best], cosine, rows)
        first = self.chunks[rows[0]]
        parts = [first.text]
        for i in rows[1:]:
            c = self.chunks[i]
            heading = "" if c.section == first.section else f"{SUBHEADING}{c.section}\n"
            parts.append(heading + c.text)
        chunk = replace(
            first,
            chunk_id="+".join(self.chunks[i].chunk_id for i in rows),
            text="\n\n".join(parts),
        )
        return Hit(chunk, scores[best], cosine, rows)

    def _rerank(
        self,
        rows: list[int],
        qvec: np.ndarray,
        cosine: dict[int, float],
        bm: np.ndarray | None,
        terms: list[str],
    ) -> dict[int, float]:
        """Score candidates by the passage, its best sentence, its BM25 share and its headings.

        The best sentence (embedded under its heading at ingest time) finds the one line that
        answers inside a long passage; BM25 keeps exact names and acronyms in play; a heading
        that names what the question asks about ("Mission", "Scope") marks the section on it.
        """
        top_bm = max((float(bm[i]) for i in rows), default=0.0) if bm is not None else 0.0
        headings = self._headings.shares(terms, rows) if self.heading_weight else {}
        out = {}
        for i in rows:
            _, vectors = self.version.sentences(i)
            best = float((vectors @ qvec).max()) if len(vectors) else cosine[i] - _UNQUOTABLE_MARGIN
            lexical = float(bm[i]) / top_bm if bm is not None and top_bm > 0 else 0.0
            heading = self.heading_weight * headings.get(i, 0.0)
            out[i] = 0.5 * cosine[i] + best + 0.5 * lexical + heading
        return out

    def _diverse(self, order: list[int], scores: dict[int, float], k: int) -> list[int]:
        """Maximal marginal relevance: each pick loses ``diversity`` times its cosine similarity
        to the closest passage already picked, so near-copies of one passage do not fill the list.
        """
        vectors = np.vstack([self.version.vectors.reconstruct(i) for i in order])
        similar = vectors @ vectors.T  # every pair once, instead of again at each pick
        relevance = np.array([scores[i] for i in order])
        closest = np.zeros(len(order))  # similarity to the closest pick so far (none yet: 0)
        picked: list[int] = []
        left = list(range(len(order)))
        while left and len(picked) < k:
            best = max(left, key=lambda p: relevance[p] - self.diversity * closest[p])
            closest = similar[best] if not picked else np.maximum(closest, similar[best])
            picked.append(best)
            left.remove(best)
        return [order[p] for p in picked]

    def _cosine(self, qvec: np.ndarray, row: int) -> float:
        return float(np.dot(self.version.vectors.reconstruct(row), qvec))

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        if not filters or not (filters.kind or filters.document or filters.project):
            return None
        doc = (filters.document or "").strip("/")
        return np.array(
            [
                (not filters.kind or c.kind == filters.kind)
                and (
                    not doc
                    or c.doc_path == doc
                    or c.doc_path.startswith(doc + "/")
                    or c.doc_path.endswith("/" + doc)
                )
                and (not filters.project or c.doc_path.split("/", 1)[0] == filters.project)
                for c in self.chunks
            ],
            dtype=bool,
        )


class HeadingMatch:
    """How much of a question a passage's headings name, each word weighted by its rarity
    among headings (many sections say "Kubeflow"; one says "Mission")."""

    def __init__(self, chunks: list[Chunk], words: list[list[str]] | None = None) -> None:
        """Tokenizes the chunks' headings, or takes ``words`` as an index stores them."""
        self.words = [set(w) for w in (heading_words(chunks) if words is None else words)]
        counts = Counter(w for words in self.words for w in words)
        self.unseen = math.log(1 + len(chunks))  # a word no heading has: the rarest
        self.weight = {w: math.log(1 + len(chunks) / n) for w, n in counts.items()}

    def shares(self, terms: list[str], rows: list[int]) -> dict[int, float]:
        """Each row's share of the question's weight; the weights are worked out once."""
        weights = {t: self.weight.get(t, self.unseen) for t in terms}
        total = sum(weights.values()) or 1.0
        return {
            row: sum(w for t, w in weights.items() if t in self.words[row]) / total for row in rows
        }
