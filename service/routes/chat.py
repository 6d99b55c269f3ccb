"""POST /v1/chat/completions and GET /v1/models: the knowledge base behind the OpenAI API.

The last user message is the question, earlier messages are the conversation, and the cited
passages travel in an extra ``sources`` field (on the last chunk when streaming). The model
name picks the backend: ``cnai`` uses the server's default, ``cnai-local`` and so on name one.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.errors import BadInput
from service.deps import EngineDep
from service.metrics import observe
from service.routes.stream import (
    CLIENT_CLOSED,
    SSE_CONTENT,
    SSE_HEADERS,
    chain,
    error_payload,
    final_of,
    first,
    rest,
    watched,
)
from service.schemas import AskRequest, AskResponse, Mode, Turn

router = APIRouter(prefix="/v1", tags=["openai"])

MODELS: dict[str, Mode | None] = {
    "cnai": None,
    "cnai-extractive": "extractive",
    "cnai-local": "local",
    "cnai-openai": "openai",
}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    # temperature, max_tokens and the rest are accepted and ignored: answers are grounded.
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": "cnai",
                    "messages": [{"role": "user", "content": "How can pods share one GPU?"}],
                }
            ]
        },
    )

    # The schema lists the names; the check in to_ask gives the friendlier error for others.
    model: str = Field(
        default="cnai",
        description="cnai, cnai-extractive, cnai-local, cnai-openai",
        json_schema_extra={"enum": list(MODELS)},
    )
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def to_ask(req: ChatRequest) -> AskRequest:
    if req.model not in MODELS:
        raise BadInput(f"unknown model {req.model!r}; use one of {', '.join(MODELS)}")
    if req.messages[-1].role != "user":
        raise BadInput("the last message must be the user's question")
    history = [
        Turn(role=m.role, content=m.text())
        for m in req.messages[:-1]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    try:
        return AskRequest(
            question=req.messages[-1].text(), k=5, mode=MODELS[req.model], history=history[-50:]
        )
    except ValidationError as exc:
        raise BadInput("; ".join(e["msg"] for e in exc.errors())) from None


def sources(resp: AskResponse) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in resp.citations]


@router.get("/models")
async def models() -> dict[str, Any]:
    """The model names /v1/chat/completions accepts, one per answer backend."""
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "cnai"} for m in MODELS]
    return {"object": "list", "data": data}


@router.post(
    "/chat/completions",
    response_model=None,
    responses={
        200: {
            "description": "A JSON completion, or SSE chunks with stream: true.",
            "content": SSE_CONTENT,
        }
    },
)
async def chat_completions(req: ChatRequest, engine: EngineDep, request: Request) -> Any:
    """An OpenAI-compatible chat completion answered from the knowledge base, with sources."""
    ask = to_ask(req)
    cancel = threading.Event()
    events = engine.ask_stream(ask, cancel)
    meta = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "created": int(time.time()),
        "model": req.model,
    }
    if not req.stream:
        final = await watched(lambda: final_of(events), request, cancel)
        if final is None:
            return Response(status_code=CLIENT_CLOSED)
        observe(request, final)
        message = {"role": "assistant", "content": final.answer}
        return {
            **meta,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "sources": sources(final),
        }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {**meta, "object": "chat.completion.chunk", "choices": [choice], **extra}
        return f"data: {_json(body)}\n\n"

    head = await first(events, request, cancel)

    async def body() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for event in chain(head, rest(events, cancel)):
                if isinstance(event, AskResponse):
                    observe(request, event)
                    yield chunk({}, "stop", sources=sources(event))
                else:
                    yield chunk({"content": event})
        except Exception as exc:  # headers are sent: report it in the stream
            yield f"data: {_json(error_payload(exc))}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
