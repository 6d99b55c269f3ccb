"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready once the index is loaded; otherwise 503 with what is wrong and how to fix it."""
    engine = request.app.state.engine
    if engine is None:
        error = request.app.state.load_error
        message = str(error) if error else "still loading the index"
        return JSONResponse(
            {"status": "not ready", "error": {"code": "not_ready", "message": message}},
            status_code=503,
        )
    manifest = engine.version.manifest
    return JSONResponse(
        {
            "status": "ready",
            "index": str(engine.version.folder),
            "documents": len(manifest.documents),
            "chunks": len(engine.version.chunks),
            "model": manifest.model,
        }
    )
