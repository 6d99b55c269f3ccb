"""POST /v1/feedback (a reader's verdict on an answer) and GET /v1/feedback/export (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from service.feedback import FeedbackStore
from service.schemas import FeedbackExport, FeedbackRequest, FeedbackStored, Rating

router = APIRouter(prefix="/v1", tags=["feedback"])


def _store(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.feedback
    return store


@router.post("/feedback", response_model=FeedbackStored, status_code=201)
async def feedback(req: FeedbackRequest, request: Request) -> FeedbackStored:
    """Store thumbs up or down on an answer, with the question, answer, citations and comment."""
    engine = request.app.state.engine
    version = engine.version.folder.name if engine is not None else None
    item = await run_in_threadpool(_store(request).add, req, version)
    return FeedbackStored(id=item.id, created_at=item.created_at, index_version=version)


@router.get("/feedback/export", response_model=FeedbackExport)
async def export(request: Request, rating: Rating | None = None) -> FeedbackExport:
    """Every stored feedback item, oldest first (only one rating with ?rating=up|down)."""
    return FeedbackExport(items=await run_in_threadpool(_store(request).items, rating))
