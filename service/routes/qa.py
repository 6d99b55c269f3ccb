"""POST /v1/search and POST /v1/ask."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from service.deps import EngineDep
from service.routes.stream import watched
from service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["qa"])
CLIENT_CLOSED = 499  # nginx's status for a request whose client went away; nobody reads it


@router.post("/search", response_model=SearchResponse)
async def search(req: SearchRequest, engine: EngineDep) -> SearchResponse:
    """Passages from the knowledge base that best match the query, best first."""
    return await run_in_threadpool(engine.search, req)


@router.post("/ask", response_model=AskResponse)
async def ask(req: AskRequest, engine: EngineDep, request: Request) -> AskResponse | Response:
    """A short answer built from cited passages, or an abstention when nothing supports one."""
    cancel = threading.Event()

    def answer() -> AskResponse | None:
        final = [e for e in engine.ask_stream(req, cancel) if isinstance(e, AskResponse)]
        return final[0] if final else None  # None: the client left

    # A client that leaves stops the generation, as it does on /v1/ask/stream.
    result = await watched(answer, request, cancel)
    return result if result is not None else Response(status_code=CLIENT_CLOSED)
