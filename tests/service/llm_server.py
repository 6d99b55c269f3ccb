"""A small OpenAI-compatible server (/v1/chat/completions, streaming and not) for the tests.

It runs the session's real local model, so the ``openai`` backend is tested against generated
text from a real server over HTTP, not canned replies.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from service.llm import LLM

MODEL = "smollm2-135m"
_MESSAGES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


def openai_app(llm: LLM) -> FastAPI:
    app = FastAPI()
    app.state.requests = []  # (stream, max_tokens) of each request, for assertions

    @app.post("/v1/chat/completions", response_model=None)
    async def complete(body: dict[str, Any]) -> Any:
        if body.get("model") != MODEL:
            error = {"message": f"model {body.get('model')!r} not found", "type": "not_found"}
            return JSONResponse({"error": error}, status_code=404)
        messages: list[BaseMessage] = [
            _MESSAGES[m["role"]](content=m["content"]) for m in body["messages"]
        ]
        limit = int(body.get("max_completion_tokens") or body.get("max_tokens") or 128)
        stream = bool(body.get("stream"))
        app.state.requests.append((stream, limit))
        meta = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": MODEL}
        if not stream:
            text = await run_in_threadpool(lambda: "".join(llm.stream(messages, limit)))
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return {**meta, "object": "chat.completion", "choices": [choice]}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return f"data: {json.dumps({**meta, 'object': 'chat.completion.chunk', 'choices': [choice]})}\n\n"  # noqa: E501

        async def events() -> AsyncIterator[str]:
            cancel = threading.Event()
            try:
                yield chunk({"role": "assistant", "content": ""})
                async for piece in iterate_in_threadpool(llm.stream(messages, limit, cancel)):
                    yield chunk({"content": piece})
                yield chunk({}, "stop")
                yield "data: [DONE]\n\n"
            finally:
                cancel.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
