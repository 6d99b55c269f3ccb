"""POST /v1/search and POST /v1/ask."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from service.deps import EngineDep
from service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["qa"])


@router.post("/search", response_model=SearchResponse)
async def search(req: SearchRequest, engine: EngineDep) -> SearchResponse:
    """Passages from the knowledge base that best match the query, best first."""
    return await run_in_threadpool(engine.search, req)


@router.post("/ask", response_model=AskResponse)
async def ask(req: AskRequest, engine: EngineDep) -> AskResponse:
    """A short answer built from cited passages, or an abstention when nothing supports one."""
    return await run_in_threadpool(engine.ask, req)
