"""One table from domain errors to HTTP status and stable error code."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ingest.errors import BadDocument, BadInput, CnaiError, IndexMismatch, IndexNotFound
from service.ingest_jobs import JobNotFound, OutsideRoots, UploadTooLarge
from service.llm import GenerationsBusy, LLMNotConfigured, LLMUnavailable
from service.rerankers import RerankerNotConfigured

ERRORS: dict[type[CnaiError], tuple[int, str]] = {
    IndexNotFound: (503, "index_not_found"),
    IndexMismatch: (503, "index_mismatch"),
    LLMNotConfigured: (503, "llm_not_configured"),
    LLMUnavailable: (503, "llm_unavailable"),
    GenerationsBusy: (503, "generations_busy"),
    RerankerNotConfigured: (503, "reranker_not_configured"),
    BadInput: (422, "bad_input"),
    BadDocument: (422, "bad_document"),
    OutsideRoots: (403, "outside_ingest_roots"),
    UploadTooLarge: (413, "upload_too_large"),
    JobNotFound: (404, "job_not_found"),
}


def _body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


def install(app: FastAPI) -> None:
    @app.exception_handler(CnaiError)
    async def _domain(_: Request, exc: CnaiError) -> JSONResponse:
        status, code = ERRORS.get(type(exc), (500, "internal"))
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return JSONResponse(_body(code, str(exc)), status_code=status, headers=headers)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own errors (a body that is not UTF-8 JSON, 404, 405) in the same shape.
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            message = "the body is not valid UTF-8 JSON: send a JSON object encoded as UTF-8"
            return JSONResponse(_body("invalid_request", message), status_code=422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            _body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        ]
        # The offending input is not echoed back: it may be 1 MB, or hold a lone surrogate that
        # cannot be encoded as UTF-8 (which turned a 422 into a 500).
        details = [
            {"type": e["type"], "loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse(
            _body("invalid_request", "; ".join(problems), details=details), status_code=422
        )
