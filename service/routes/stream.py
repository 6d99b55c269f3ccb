"""POST /v1/ask/stream: the answer as Server-Sent Events, ending with the full response."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ingest.errors import CnaiError
from service import errors
from service.deps import EngineDep
from service.metrics import observe
from service.observability import log_question
from service.schemas import STREAM_ERROR_RESPONSES, AskRequest, AskResponse

router = APIRouter(prefix="/v1", tags=["qa"])
log = logging.getLogger(__name__)
T = TypeVar("T")
_END: Any = object()
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Under text/event-stream an OpenAPI 3.1 `schema` describes one event (what schemathesis and
# OpenAPI 3.2 tooling check each event against); `data` is a JSON text.
ASK_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["token", "final", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": 'token: {"text"}; final: the /v1/ask response; '
            'error: {"error": {"code", "message"}}',
        },
    },
}
CHAT_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "A chat.completion.chunk as JSON (sources on the last), an "
            '{"error"} object, then [DONE]',
        }
    },
}
SSE_CONTENT = {"text/event-stream": {"schema": CHAT_EVENT}}
CLIENT_CLOSED = 499  # nginx's status for a request whose client went away; nobody reads it


class EventStream(StreamingResponse):
    """A streamed answer; named so the OpenAPI schema documents text/event-stream, not JSON."""

    media_type = "text/event-stream"


async def first(events: Iterator[T], request: Request, cancel: threading.Event) -> T:
    """The first event, pulled in a worker thread; its errors become ordinary HTTP errors."""
    return await watched(lambda: next(events, _END), request, cancel)


async def watched(work: Callable[[], T], request: Request, cancel: threading.Event) -> T:
    """``work()`` in a worker thread, setting ``cancel`` if the client leaves meanwhile.

    No response has started yet, so a client that leaves is noticed by polling.
    """

    async def watch() -> None:
        while not await request.is_disconnected():
            await anyio.sleep(0.25)
        cancel.set()

    error: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            item: T = await anyio.to_thread.run_sync(work)
        except Exception as exc:  # raised below, not wrapped in the task group's ExceptionGroup
            error = exc
        group.cancel_scope.cancel()
    if error is not None:
        raise error
    return item


def final_of(events: Iterator[object]) -> AskResponse | None:
    """Run the events to their end: the response they close with, or None if the client left."""
    final = [e for e in events if isinstance(e, AskResponse)]
    return final[0] if final else None


async def rest(events: Iterator[T], cancel: threading.Event) -> AsyncIterator[T]:
    """The remaining events; a client that goes away sets ``cancel``, which stops generation."""
    try:
        while True:
            # Abandon the blocked worker at once on disconnect; ``cancel`` then ends its loop.
            item = await anyio.to_thread.run_sync(next, events, _END, abandon_on_cancel=True)
            if item is _END:
                return
            yield item
    finally:
        cancel.set()


def error_payload(exc: Exception) -> dict[str, object]:
    if isinstance(exc, CnaiError):
        _, code = errors.ERRORS.get(type(exc), (500, "internal"))
        return {"error": {"code": code, "message": str(exc)}}
    log.exception("stream failed", exc_info=exc)
    return {"error": {"code": "internal", "message": "the answer failed; see the server log"}}


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post(
    "/ask/stream",
    response_class=EventStream,
    responses={
        200: {
            "description": "Server-Sent Events",
            "content": {"text/event-stream": {"schema": ASK_EVENT}},
        },
        **STREAM_ERROR_RESPONSES,
    },
)
async def ask_stream(req: AskRequest, engine: EngineDep, request: Request) -> StreamingResponse:
    """The answer as Server-Sent Events: `token` events ({"text"}) then one `final` event
    carrying what /v1/ask returns. Token texts are verified sentences with their final [n]
    markers, so they add up to the final answer. Disconnecting stops the generation."""
    log_question(request, req.question)
    cancel = threading.Event()
    events = engine.ask_stream(req, cancel)
    head = await first(events, request, cancel)

    async def body() -> AsyncIterator[str]:
        try:
            async for event in chain(head, rest(events, cancel)):
                if isinstance(event, AskResponse):
                    observe(request, event)
                    yield sse("final", event.model_dump(mode="json"))
                else:
                    yield sse("token", {"text": event})
        except Exception as exc:  # headers are sent: report it in the stream
            yield sse("error", error_payload(exc))

    return EventStream(body(), headers=SSE_HEADERS)


async def chain(head: T, tail: AsyncIterator[T]) -> AsyncIterator[T]:
    if head is _END:  # the client left before the first event
        return
    yield head
    async for item in tail:
        yield item
