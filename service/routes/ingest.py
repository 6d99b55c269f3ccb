"""POST /v1/ingest (uploaded files, or a folder under the ingest roots) and GET /v1/ingest/{job}."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException  # what request.form() raises, not fastapi's

from ingest.errors import BadInput
from service.ingest_jobs import IngestFolder, IngestJob, IngestJobs, UploadTooLarge
from service.schemas import error_response

router = APIRouter(prefix="/v1", tags=["ingest"])

_MB = 1024 * 1024
_MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers on top of the files themselves


def get_jobs(request: Request) -> IngestJobs:
    jobs: IngestJobs = request.app.state.ingest_jobs
    return jobs


JobsDep = Annotated[IngestJobs, Depends(get_jobs)]

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["files"],
                }
            },
            "application/json": {"schema": IngestFolder.model_json_schema()},
        },
    }
}


@router.post(
    "/ingest",
    status_code=202,
    response_model=IngestJob,
    openapi_extra=_BODY,
)
async def start_ingest(request: Request, jobs: JobsDep) -> JSONResponse:
    """Start an ingest job from uploaded files (multipart ``files``) or ``{"folder": ...}``.

    Documents already indexed stay; the new version is served once the job is done.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        job = await run_in_threadpool(jobs.submit_folder, await _folder_of(request))
    elif kind == "multipart/form-data":
        job = await _upload(request, jobs)
    else:
        raise BadInput(
            "send multipart/form-data with one or more `files`, or application/json "
            '{"folder": "..."}'
        )
    return JSONResponse(
        job.model_dump(), status_code=202, headers={"Location": f"/v1/ingest/{job.id}"}
    )


@router.get(
    "/ingest/{job_id}", response_model=IngestJob, responses={404: error_response("No such job.")}
)
async def ingest_status(job_id: str, jobs: JobsDep) -> IngestJob:
    """Status, progress, counts and skipped files of an ingest job."""
    return jobs.get(job_id)


async def _folder_of(request: Request) -> str:
    try:
        body = json.loads(await request.body())
        return IngestFolder.model_validate(body).folder
    except (ValueError, UnicodeDecodeError) as exc:  # ValidationError is a ValueError
        if isinstance(exc, ValidationError):
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            raise BadInput(f'expected {{"folder": "..."}}: {problems}') from None
        raise BadInput('the body is not valid JSON; expected {"folder": "..."}') from None


async def _upload(request: Request, jobs: IngestJobs) -> IngestJob:
    s = request.app.state.settings
    max_file, max_total = s.ingest_max_file_mb * _MB, s.ingest_max_upload_mb * _MB
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_total + _MULTIPART_OVERHEAD:
        raise UploadTooLarge(
            f"the upload is {int(length) / _MB:.1f} MB; at most {s.ingest_max_upload_mb:g} MB "
            "(CNAI_INGEST_MAX_UPLOAD_MB): send the files in several uploads"
        )
    try:
        form = await request.form(max_files=s.ingest_max_files + 1, max_fields=10)
    except HTTPException as exc:  # starlette's own limits and malformed bodies
        raise BadInput(f"malformed multipart upload: {exc.detail}") from None
    try:
        files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        others = sorted({k for k, v in form.multi_items() if not isinstance(v, UploadFile)})
        if others:
            raise BadInput(f"unknown form fields {others}: send only `files`")
        if not files:
            raise BadInput("no files in the upload: send them as multipart `files`")
        if len(files) > s.ingest_max_files:
            raise BadInput(
                f"too many files in one upload (more than {s.ingest_max_files}, "
                "CNAI_INGEST_MAX_FILES): send them in several uploads"
            )
        total = 0
        for _, f in files:
            size = f.size or 0
            total += size
            if size > max_file:
                raise UploadTooLarge(
                    f"{f.filename}: {size / _MB:.1f} MB; a file may have at most "
                    f"{s.ingest_max_file_mb:g} MB (CNAI_INGEST_MAX_FILE_MB)"
                )
        if total > max_total:
            raise UploadTooLarge(
                f"the upload holds {total / _MB:.1f} MB; at most {s.ingest_max_upload_mb:g} MB "
                "(CNAI_INGEST_MAX_UPLOAD_MB): send the files in several uploads"
            )
        staged = [(f.filename, f.file) for _, f in files]
        return await run_in_threadpool(jobs.submit_upload, staged)
    finally:
        await form.close()
