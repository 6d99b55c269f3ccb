"""The textbook LangChain RAG pipeline, built here as the yardstick for `cnai eval --compare`.

RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) over the same documents as
the index, all-MiniLM-L6-v2 embeddings, a FAISS inner-product index (faiss directly: no
langchain-community, and nothing is ever loaded from a pickle), top 5. Its answer is the first
two sentences of the top passage, cited [1]; it never abstains. 1,000-character chunks often
pass MiniLM's 256-token input and are silently truncated, as in the textbook pipeline.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from eval.runners import Passage, RunOutput
from ingest.embed import Embedder
from ingest.errors import BadDocument
from ingest.loaders import load_document
from ingest.progress import Progress
from ingest.store import IndexVersion
from ingest.text import sentence_spans
from service.engine import Timer

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
ANSWER_SENTENCES = 2


def indexed_documents(
    version: IndexVersion, roots: list[Path]
) -> tuple[dict[str, Path], list[str], list[str]]:
    """Find the index's documents below ``roots`` (an id is a path below the ingested folder's
    parent): (doc id -> file, ids found nowhere, ids whose file changed since ingestion)."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    changed: list[str] = []
    for doc_id, entry in version.manifest.documents.items():
        path = next((r / doc_id for r in roots if (r / doc_id).is_file()), None)
        if path is None:
            missing.append(doc_id)
            continue
        found[doc_id] = path
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry.get("sha256"):
            changed.append(doc_id)
    return found, missing, changed


class LangChainBaseline:
    name = "LangChain baseline"

    def __init__(self, files: dict[str, Path], embedder: Embedder, progress: bool = True):
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP
        )
        self.embedder = embedder
        self.skipped: list[str] = []
        self.passages: list[Passage] = []
        for doc_id, path in sorted(files.items()):
            try:
                doc = load_document(path, doc_id)
            except BadDocument as exc:
                self.skipped.append(str(exc))
                continue
            for i, text in enumerate(splitter.split_text(doc.text)):
                self.passages.append(Passage(f"lc:{doc_id}#{i}", doc_id, "", text))
        texts = [p.text for p in self.passages]
        bar = Progress("Embedding baseline", total=len(texts), unit="chunks", enabled=progress)
        with bar:
            vectors = embedder.embed(texts, progress=bar)
        self.index = faiss.IndexFlatIP(embedder.dimension)
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def run(self, question: str, k: int) -> RunOutput:
        timer = Timer()
        with timer.stage("embed"):
            qvec = self.embedder.embed_query(question)
        with timer.stage("retrieve"):
            hits: list[Passage] = []
            if self.passages:
                _, ids = self.index.search(qvec.reshape(1, -1), min(k, len(self.passages)))
                hits = [self.passages[int(i)] for i in ids[0] if i >= 0]
        with timer.stage("answer"):
            answer = first_sentences(hits[0].text) + " [1]" if hits else ""
        return RunOutput(
            retrieved=hits,
            answer=answer,
            abstained=False,
            citations=hits[:1],
            timings_ms=timer.done(),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "runner": "langchain-baseline",
            "splitter": f"RecursiveCharacterTextSplitter({CHUNK_SIZE}, {CHUNK_OVERLAP})",
            "embedding_model": self.embedder.model_id,
            "vector_index": "faiss.IndexFlatIP",
            "answer": f"first {ANSWER_SENTENCES} sentences of the top passage; never abstains",
            "chunks": len(self.passages),
            "skipped": self.skipped,
        }

    def index_passages(self) -> list[Passage]:
        return self.passages


def first_sentences(text: str, n: int = ANSWER_SENTENCES) -> str:
    spans = sentence_spans(text)[:n]
    if not spans:
        return " ".join(text.split())[:300]
    return " ".join(" ".join(text[s:e].split()) for s, e in spans)
