"""POST /v1/search and POST /v1/ask."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from service.deps import EngineDep
from service.metrics import observe
from service.observability import log_question
from service.routes.stream import CLIENT_CLOSED, final_of, watched
from service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["qa"])


@router.post("/search", response_model=SearchResponse)
async def search(req: SearchRequest, engine: EngineDep, request: Request) -> SearchResponse:
    """Passages from the knowledge base that best match the query, best first."""
    resp = await run_in_threadpool(engine.search, req)
    observe(request, resp)
    return resp


@router.post("/ask", response_model=AskResponse)
async def ask(req: AskRequest, engine: EngineDep, request: Request) -> AskResponse | Response:
    """A short answer built from cited passages, or an abstention when nothing supports one."""
    log_question(request, req.question)
    cancel = threading.Event()
    # A client that leaves stops the generation, as it does on /v1/ask/stream.
    final = await watched(lambda: final_of(engine.ask_stream(req, cancel)), request, cancel)
    if final is None:
        return Response(status_code=CLIENT_CLOSED)
    observe(request, final)
    return final
