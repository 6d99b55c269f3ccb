"""GET /v1/index: what the loaded index holds."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter

from service.deps import EngineDep
from service.schemas import IndexDocument, IndexInfo

router = APIRouter(prefix="/v1", tags=["index"])


@router.get("/index", response_model=IndexInfo)
async def index(engine: EngineDep) -> IndexInfo:
    """The documents (title, kind, chunks, source URL), embedding model, build time and counts."""
    version = engine.version
    documents: dict[str, IndexDocument] = {}
    for chunk in version.chunks:
        doc = documents.get(chunk.doc_path)
        if doc is None:
            documents[chunk.doc_path] = IndexDocument(
                path=chunk.doc_path, title=chunk.title, kind=chunk.kind, chunks=1, url=chunk.url
            )
        else:
            doc.chunks += 1
    docs = sorted(documents.values(), key=lambda d: (d.kind, d.title.lower()))
    return IndexInfo(
        version=version.folder.name,
        model=version.manifest.model,
        dimension=version.manifest.dimension,
        created_at=version.manifest.created_at,
        documents=docs,
        chunks=len(version.chunks),
        kinds=dict(sorted(Counter(d.kind for d in docs).items())),
    )
