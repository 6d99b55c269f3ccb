"""Ingest jobs started over the API: staged uploads or an allowed folder, one job at a time.

Jobs run on one worker thread (and ``ingest.store.locked`` serialises them with any
``cnai ingest`` on the same index); documents already indexed are kept (``keep_others``), so
an upload only adds or replaces its own files. Job records live in memory: a restart forgets
them, not the index.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.embed import Embedder
from ingest.errors import BadInput, CnaiError
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.settings import IngestSettings
from service.engine import Engine
from service.reload import Reloader
from service.settings import ServiceSettings

log = logging.getLogger(__name__)

_KEEP_JOBS = 200  # finished job records kept in memory, oldest dropped first
UPLOAD_FOLDER = "uploads"  # uploaded documents get the ids ``uploads/<file name>``


class OutsideRoots(CnaiError):
    """A folder to ingest is not under any of the configured ingest roots."""


class UploadTooLarge(CnaiError):
    """An upload, or one of its files, is over the configured size limit."""


class JobNotFound(CnaiError):
    """No ingest job has that id (job records do not survive a restart)."""


class IngestFolder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    folder: str = Field(
        min_length=1,
        max_length=4096,
        description="A folder under one of CNAI_INGEST_ROOTS: absolute, or relative to a root.",
    )


class JobCounts(BaseModel):
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    chunks: int = 0
    embedded: int = 0


class JobProgress(BaseModel):
    done: int = Field(0, description="Texts embedded so far.")
    total: int = Field(0, description="Texts to embed (0 until the files are read).")


class IngestJob(BaseModel):
    id: str
    kind: Literal["upload", "folder"]
    status: Literal["queued", "running", "done", "failed"] = "queued"
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    progress: JobProgress = Field(default_factory=JobProgress)
    counts: JobCounts = Field(default_factory=JobCounts)
    skipped: list[str] = Field(default_factory=list, description="One line per file not indexed.")
    error: str | None = None
    version: str | None = Field(None, description="The index version the job wrote.")
    serving: str | None = Field(None, description="The version the server answers from.")


def safe_upload_name(name: str | None) -> str:
    """The upload's file name, or BadInput saying why it cannot be stored as is."""
    if not name or not name.strip():
        raise BadInput("a file has no name")
    if "\x00" in name or "/" in name or "\\" in name or name in (".", ".."):
        raise BadInput(f"{name!r}: a file name must be a plain name, without folders or '..'")
    if name.startswith("."):
        raise BadInput(f"{name!r}: hidden files are not indexed")
    if PurePosixPath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise BadInput(f"{name}: unsupported file type; supported: {supported}")
    return name


def resolve_folder(folder: str, roots: list[Path]) -> Path:
    """The real folder ``folder`` names, if it lies inside one of ``roots`` (symlinks resolved)."""
    if not roots:
        raise OutsideRoots(
            "folder ingestion is off: set CNAI_INGEST_ROOTS to the folders it may read, "
            "or upload the files instead"
        )
    if "\x00" in folder:
        raise BadInput("folder: must not contain NUL bytes")
    try:
        folder.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("folder: not valid Unicode (a lone surrogate)") from None
    if ".." in PurePosixPath(folder).parts:
        raise BadInput(f"folder {folder!r}: must not contain '..'")
    real_roots = [r.expanduser().resolve() for r in roots]
    given = Path(folder)
    candidates = [given] if given.is_absolute() else [r / given for r in real_roots]
    for candidate in candidates:
        if not candidate.exists():
            continue
        real = candidate.resolve()
        if not any(real.is_relative_to(r) for r in real_roots):
            raise OutsideRoots(
                f"folder {folder!r} is outside the ingest roots ({', '.join(map(str, real_roots))})"
            )
        if not real.is_dir():
            raise BadInput(f"folder {folder!r} is a file, not a folder; upload files instead")
        return real
    raise BadInput(f"folder {folder!r}: no such folder under the ingest roots")


class IngestJobs:
    def __init__(
        self, settings: ServiceSettings, reloader: Reloader, engine: Callable[[], Engine | None]
    ) -> None:
        self._settings = settings
        self._reloader = reloader
        self._engine = engine
        self._embedder: Embedder | None = None
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        # One worker: jobs run in the order they came, never two at once.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cnai-ingest")
        self.staging = settings.ingest_staging
        # Leftovers of a process that died mid-job belong to jobs nobody can ask about now.
        shutil.rmtree(self.staging, ignore_errors=True)

    def get(self, job_id: str) -> IngestJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no ingest job {job_id!r} (job records do not survive a restart)")
        return job.model_copy(deep=True)

    def _new(self, kind: Literal["upload", "folder"]) -> IngestJob:
        job = IngestJob(id=uuid.uuid4().hex, kind=kind, created_at=time.time())
        self._jobs[job.id] = job
        while len(self._jobs) > _KEEP_JOBS:
            self._jobs.popitem(last=False)
        return job

    def submit_folder(self, folder: str) -> IngestJob:
        path = resolve_folder(folder, self._settings.ingest_roots)
        job = self._new("folder")
        self._pool.submit(self._run, job, path, None)
        return job.model_copy(deep=True)

    def submit_upload(self, files: list[tuple[str | None, BinaryIO]]) -> IngestJob:
        """Stage the files under the staging folder (names checked), then queue the job."""
        job = self._new("upload")
        area = self.staging / job.id
        folder = area / UPLOAD_FOLDER
        folder.mkdir(parents=True)
        for name, data in files:
            try:
                safe = safe_upload_name(name)
            except BadInput as exc:
                job.skipped.append(str(exc))
                continue
            target = folder / safe
            if target.exists():
                job.skipped.append(f"{safe}: the same name twice in one upload; the first is kept")
                continue
            with target.open("wb") as out:
                shutil.copyfileobj(data, out)
        self._pool.submit(self._run, job, folder, area)
        return job.model_copy(deep=True)

    def _embedder_for(self, engine: Engine | None) -> Embedder:
        """The torch model (ingestion pools its token embeddings; the ONNX export has none)."""
        if engine is not None and isinstance(engine.embedder, Embedder):
            return engine.embedder
        if engine is not None:
            model = engine.version.manifest.model
        else:  # no index yet: the first upload builds it
            model = self._settings.embedding_model or IngestSettings().embedding_model
        if self._embedder is None or self._embedder.model_id != model:
            self._embedder = Embedder(model, threads=self._settings.threads)
        return self._embedder

    def _run(self, job: IngestJob, folder: Path, area: Path | None) -> None:
        job.status, job.started_at = "running", time.time()

        def on_progress(done: int, total: int) -> None:
            job.progress = JobProgress(done=done, total=total)

        # The pipeline (loaders, splitter, torch) loads with the first job, not with the API.
        from ingest.pipeline import ingest

        try:
            engine = self._engine()
            # The chunk size the index was built with, or every document would be re-embedded.
            chunk_tokens = IngestSettings().chunk_tokens
            if engine is not None:
                chunk_tokens = int(
                    engine.version.manifest.chunker.get("chunk_tokens", chunk_tokens)
                )
            if not any(folder.iterdir()):
                raise BadInput("no file of this upload can be indexed")
            report = ingest(
                [folder],
                self._settings.index,
                self._embedder_for(engine),
                chunk_tokens=chunk_tokens,
                show_progress=False,
                keep_others=True,
                on_progress=on_progress,
            )
            job.skipped += report.skipped
            job.counts = JobCounts(
                added=len(report.added),
                changed=len(report.changed),
                removed=len(report.removed),
                unchanged=len(report.unchanged),
                skipped=len(job.skipped),
                chunks=report.chunks,
                embedded=report.embedded,
            )
            job.version = report.version
            self._reloader.check()  # serve it now rather than at the next poll
            served = self._engine()
            job.serving = served.version.folder.name if served else None
            job.finished_at = time.time()
            job.status = "done"
        except CnaiError as exc:
            job.error, job.finished_at, job.status = str(exc), time.time(), "failed"
            job.counts = job.counts.model_copy(update={"skipped": len(job.skipped)})
        except Exception as exc:  # a job must end with a status, whatever happened
            log.exception("ingest job %s failed", job.id)
            job.error, job.status = f"internal error ({type(exc).__name__}); see the log", "failed"
        finally:
            if job.serving is None:
                current = self._engine()
                job.serving = current.version.folder.name if current else None
            job.finished_at = job.finished_at or time.time()
            if area is not None:
                shutil.rmtree(area, ignore_errors=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
