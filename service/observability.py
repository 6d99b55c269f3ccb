"""Request ids, JSON log lines, a body-size cap and a per-caller rate limit (issue 15).

All are pure ASGI middleware (no per-request Starlette wrapper), so they also see the
errors other layers answer with and streaming bodies pass through untouched.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from service.security import PUBLIC_PATHS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Uploads have their own limits (CNAI_INGEST_MAX_*), checked as files arrive.
BODY_CAP_EXEMPT: tuple[str, ...] = ("/v1/ingest",)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def send_error(
    send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> None:
    """An error in the README shape, sent straight from middleware."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """Takes a sane ``X-Request-ID`` or makes one, keeps it in ``request_id`` for log lines and
    returns it on every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = False

        async def tagged(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        except Exception:
            # Unhandled: answer here so the 500 carries the id too, then let it be logged.
            if not started:
                await send_error(tagged, 500, "internal", f"internal error; quote request id {rid}")
            raise
        finally:
            request_id.reset(token)


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``: from Content-Length up front, else counted as it
    arrives (chunked bodies)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self) -> str:
        return (
            f"the request body is larger than {self.max_bytes} bytes: send less "
            "(or raise CNAI_MAX_BODY_BYTES on the server)"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        exempt = any(path == p or path.startswith(p + "/") for p in BODY_CAP_EXEMPT)
        if scope["type"] != "http" or self.max_bytes <= 0 or exempt:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            await send_error(send, 413, "body_too_large", self._too_large())
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    # Answer now; the app sees the client leave and whatever it sends is dropped
                    # (FastAPI turns an exception raised here into its own 400).
                    refused = True
                    await send_error(send, 413, "body_too_large", self._too_large())
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)


class TokenBuckets:
    """One token bucket per caller: ``burst`` tokens, refilled at ``per_minute`` a minute.

    Written here (a dozen lines) rather than adding a package for it; ``clock`` is injectable.
    """

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(caller, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[caller] = (tokens - 1, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget callers whose bucket is full again
                rate, burst = self.rate, self.burst
                full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * rate >= burst]
                for k in full:
                    del self._buckets[k]
            return (1 - tokens) / self.rate


def caller_of(scope: Scope) -> str:
    """The API key (hashed, never kept as is) when one is sent, else the client address."""
    auth = _header(scope, b"authorization")
    if auth:
        return "key:" + hashlib.sha256(auth.strip().encode()).hexdigest()[:32]
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    """429 with Retry-After once a caller has used its bucket; probes and /metrics are exempt."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app, self.buckets = app, buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(caller_of(scope))
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            await send_error(
                send,
                429,
                "rate_limited",
                f"too many requests: try again in {seconds} s "
                "(the server allows CNAI_RATE_LIMIT_PER_MINUTE a minute per key or address)",
                {"Retry-After": str(seconds)},
            )
            return
        await self.app(scope, receive, send)


_factory_lock = threading.Lock()


def stamp_records() -> None:
    """Every log record made from now on carries ``request_id`` (None outside a request), so
    a handler that formats later, or in another thread, still has it. Idempotent."""
    with _factory_lock:
        previous = logging.getLogRecordFactory()
        if getattr(previous, "stamps_request_id", False):
            return

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            record.request_id = request_id.get()
            return record

        factory.stamps_request_id = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)


def install(app: Any, settings: Any, clock: Callable[[], float] = time.monotonic) -> None:
    """Add the middleware; the request id is outermost so 413 and 429 carry it too."""
    stamp_records()
    if settings.rate_limit_per_minute > 0:
        burst = settings.rate_limit_burst or max(1, math.ceil(settings.rate_limit_per_minute))
        app.state.rate_buckets = TokenBuckets(settings.rate_limit_per_minute, burst, clock)
        app.add_middleware(RateLimitMiddleware, buckets=app.state.rate_buckets)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestIdMiddleware)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or request_id.get()
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            # "-" is the text format's mark for "outside a request" (RequestIdFilter).
            "request_id": None if rid == "-" else rid,
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``%(request_id)s`` in text format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get() or "-"
        return True


def log_config(fmt: str, level: str = "INFO") -> dict[str, object]:
    """A ``logging.config.dictConfig`` for uvicorn and the app: JSON or text lines on stderr."""
    text = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
    formatter = {"()": JsonFormatter} if fmt == "json" else {"format": text}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "main",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    loggers = {
        n: {"handlers": ["main"], "level": level, "propagate": False}
        for n in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": loggers,
        "root": {"handlers": ["main"], "level": level},
    }


_questions = logging.getLogger("service.questions")


def log_question(request: Any, question: str) -> None:
    """The question at INFO only with CNAI_LOG_QUESTIONS=true (it may hold personal data)."""
    settings = getattr(request.app.state, "settings", None)
    if settings is not None and settings.log_questions:
        _questions.info("question: %s", question)
