"""What the harness evaluates: the engine in this process, or a running API over HTTP.

Both give the same ``RunOutput`` (ranked passages with chunk ids, doc paths and texts, the
answer and its citations, stage timings), so every metric applies to either.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ingest.errors import CnaiError
from service.engine import Engine
from service.retrieval import Hit


class ApiUnavailable(CnaiError):
    """The API given with --api cannot be reached, is not ready or refused a request."""


@dataclass
class Passage:
    chunk_id: str
    doc_path: str
    section: str
    text: str

    @property
    def match_text(self) -> str:
        """What gold evidence phrases are looked for in: the heading path and the text."""
        return f"{self.section}\n{self.text}"


@dataclass
class RunOutput:
    retrieved: list[Passage]
    answer: str
    abstained: bool
    citations: list[Passage] = field(default_factory=list)  # citation n is citations[n - 1]
    timings_ms: dict[str, float] = field(default_factory=dict)
    fallback: bool = False  # a generative backend fell back to the extractive answer
    evidence: float | None = None  # best retrieved sentence's similarity to the question
    why_abstained: str | None = None  # the rule that declined, see service.answering.answer.Answer
    abstention_probability: float | None = None  # the abstention model's (None: not asked)


class Runner(Protocol):
    name: str

    def run(self, question: str, k: int) -> RunOutput: ...

    def describe(self) -> dict[str, Any]:
        """What was evaluated (index, settings, mode or URL), recorded in report.json."""
        ...

    def index_passages(self) -> list[Passage] | None:
        """Every passage of the index, to find gold no chunk holds; None when not visible."""
        ...


_SECRET = re.compile(r"key|token|secret|password", re.IGNORECASE)  # never written to a report


def _passage(hit: Hit) -> Passage:
    c = hit.chunk
    return Passage(c.chunk_id, c.doc_path, c.section, c.text)


class EngineRunner:
    def __init__(self, engine: Engine, name: str = "hybrid", mode: str | None = None) -> None:
        self.engine = engine
        self.name = name
        self.mode = mode

    def run(self, question: str, k: int) -> RunOutput:
        hits, answer, timings = self.engine.run(question, k, mode=self.mode)
        return RunOutput(
            retrieved=[_passage(h) for h in hits],
            answer=answer.text,
            abstained=answer.abstained,
            citations=[_passage(h) for h in answer.citations],
            timings_ms=dict(timings),
            fallback=answer.fallback,
            evidence=answer.evidence,
            why_abstained=answer.why_abstained,
            abstention_probability=answer.abstention_probability,
        )

    def describe(self) -> dict[str, Any]:
        settings = {
            name: value
            for name, value in self.engine.settings.model_dump(mode="json").items()
            if name not in ("host", "port") and not _SECRET.search(name)
        }
        return {
            "runner": "engine",
            "index": str(self.engine.version.folder),
            "mode": self.mode,
            "settings": settings,
        }

    def index_passages(self) -> list[Passage]:
        chunks = self.engine.version.chunks
        return [Passage(c.chunk_id, c.doc_path, c.section, c.text) for c in chunks]


class ApiRunner:
    """Asks a running API: /v1/search for the ranking, /v1/ask for the answer."""

    def __init__(
        self, url: str, name: str = "api", mode: str | None = None, timeout: float = 60.0
    ) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.mode = mode
        self.client = httpx.Client(base_url=self.url, timeout=timeout)
        self._ready()

    def _ready(self) -> None:
        try:
            response = self.client.get("/readyz")
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"cannot reach the API at {self.url}: {exc}") from exc
        if response.status_code != 200:
            raise ApiUnavailable(f"the API at {self.url} is not ready: {response.text.strip()}")

    def _post(self, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        start = time.perf_counter()
        try:
            response = self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"{self.url}{path} failed: {exc}") from exc
        elapsed = round((time.perf_counter() - start) * 1000, 2)
        if response.status_code != 200:
            raise ApiUnavailable(
                f"{self.url}{path} answered {response.status_code}: {response.text.strip()}"
            )
        data: dict[str, Any] = response.json()
        return data, elapsed

    def run(self, question: str, k: int) -> RunOutput:
        found, _ = self._post("/v1/search", {"query": question, "k": k})
        body: dict[str, Any] = {"question": question, "k": k}
        if self.mode is not None:
            body["mode"] = self.mode
        asked, round_trip = self._post("/v1/ask", body)
        timings = {name: float(ms) for name, ms in asked.get("timings_ms", {}).items()}
        timings["http_ask"] = round_trip  # end to end as a client sees it
        return RunOutput(
            retrieved=[_api_passage(r) for r in found["results"]],
            answer=asked["answer"],
            abstained=bool(asked["abstained"]),
            citations=[_api_passage(c) for c in asked["citations"]],
            timings_ms=timings,
            fallback=bool(asked.get("fallback", False)),
            evidence=asked.get("evidence"),
            why_abstained=asked.get("why_abstained"),
        )

    def describe(self) -> dict[str, Any]:
        return {"runner": "api", "url": self.url, "mode": self.mode}

    def index_passages(self) -> None:
        return None

    def close(self) -> None:
        self.client.close()


def _api_passage(item: dict[str, Any]) -> Passage:
    source = item["source"]
    return Passage(item["chunk_id"], source["path"], source.get("section") or "", item["text"])
