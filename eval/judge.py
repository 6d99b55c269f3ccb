"""An optional LLM judge over an OpenAI-compatible chat endpoint, used only when configured.

One prompt per answered question asks for two grades in [0, 1]: correctness against the
reference answer and groundedness in the retrieved passages. It speaks the plain
``/chat/completions`` protocol over httpx (already a dependency), so it needs no extra package
and works with any OpenAI-compatible server (vLLM, Ollama, llama.cpp, a hosted API).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SKIPPED = "LLM judge skipped: set CNAI_JUDGE_BASE_URL and CNAI_JUDGE_MODEL to enable it"

PROMPT = """You grade one answer of a question-answering assistant.

Question: {question}

Reference answer: {reference}

Retrieved passages:
{passages}

Answer to grade: {answer}

Give two grades between 0 and 1:
- "correctness": how much of the reference answer's substance the answer states, without \
contradicting it (1 = all of it, 0 = none or wrong);
- "groundedness": the share of the answer's statements that the retrieved passages support.
Reply with one JSON object and nothing else: {{"correctness": 0.0, "groundedness": 0.0}}"""

_OBJECT = re.compile(r"\{.*\}", re.S)


class JudgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CNAI_JUDGE_", extra="ignore")

    base_url: str = Field(
        default="", description="OpenAI-compatible API base, e.g. http://host/v1."
    )
    model: str = Field(default="", description="Model name sent to the endpoint.")
    api_key: SecretStr = Field(default=SecretStr(""), description="Bearer token if needed.")
    timeout: float = Field(default=60.0, gt=0, le=600, description="Seconds per judge request.")

    @property
    def configured(self) -> bool:
        return bool(self.base_url.strip() and self.model.strip())


class Judge:
    def __init__(self, settings: JudgeSettings, transport: httpx.BaseTransport | None = None):
        headers = {}
        if settings.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        self.model = settings.model
        self.client = httpx.Client(
            base_url=settings.base_url.rstrip("/"),
            headers=headers,
            timeout=settings.timeout,
            transport=transport,
        )
        self.failures = 0

    @classmethod
    def from_env(cls) -> Judge | None:
        settings = JudgeSettings()
        return cls(settings) if settings.configured else None

    def grade(
        self, question: str, reference: str, answer: str, passages: list[str]
    ) -> dict[str, float]:
        """``judge_correctness`` and ``judge_groundedness``; empty when the judge fails."""
        listed = "\n".join(f"[{n}] {' '.join(p.split())}" for n, p in enumerate(passages, 1))
        prompt = PROMPT.format(
            question=question, reference=reference or "(none)", passages=listed, answer=answer
        )
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "user", "content": prompt}],
        }
        try:
            response = self.client.post("/chat/completions", json=body)
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
            grades = _parse(content)
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError):
            self.failures += 1
            return {}
        return {f"judge_{k}": v for k, v in grades.items()}

    def close(self) -> None:
        self.client.close()


def _parse(content: str) -> dict[str, float]:
    found = _OBJECT.search(content)
    if not found:
        raise ValueError("no JSON object in the judge's reply")
    data: Any = json.loads(found.group(0))
    out = {}
    for key in ("correctness", "groundedness"):
        value = float(data[key])
        out[key] = min(1.0, max(0.0, value))
    return out
