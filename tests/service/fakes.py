"""A scripted generator for plumbing tests, beside the tests that run the real model."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

from langchain_core.messages import BaseMessage

from service.llm import GenerationStats


class ScriptedLLM:
    """Replies with a fixed text, streamed word by word with its spacing kept."""

    def __init__(self, reply: str, name: str = "local") -> None:
        self.reply = reply
        self.name = name
        self.calls = 0

    def stream(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        self.calls += 1
        yield from re.findall(r"\S+\s*", self.reply)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


class EndlessLLM(ScriptedLLM):
    """A stand-in generator for plumbing: one supported sentence, again and again."""

    def __init__(self) -> None:
        super().__init__(
            "Scaling to zero saves money, but the first request waits for a cold start. ",
            name="endless",
        )
        self.pieces = 0
        self.cancel: threading.Event | None = None

    def stream(
        self,
        messages: list[BaseMessage],
        max_tokens: int,
        cancel: threading.Event | None = None,
        stats: GenerationStats | None = None,
    ) -> Iterator[str]:
        self.cancel = cancel
        for _ in range(2000):
            if cancel is not None and cancel.is_set():
                return
            self.pieces += 1
            time.sleep(0.01)
            yield self.reply
