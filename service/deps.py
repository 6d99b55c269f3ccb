"""Dependency aliases so each route shows what it needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ingest.errors import CnaiError, IndexNotFound
from service.engine import Engine


def get_engine(request: Request) -> Engine:
    engine: Engine | None = request.app.state.engine
    if engine is None:
        error: CnaiError = request.app.state.load_error or IndexNotFound("the index is not loaded")
        raise error
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]
