"""Second-stage rerankers: the HTTP client against a real loopback server, and its fallback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from ingest.embed import Embedder
from service import schemas
from service.engine import Engine
from service.rerankers import RerankerNotConfigured, make
from service.settings import ServiceSettings
from tests.service.conftest import live_server

MARK = "Multi-Process"  # the fake model's favourite: any passage naming it scores highest


def _server() -> FastAPI:
    app = FastAPI()

    @app.post("/rerank")
    def tei(body: dict) -> list[dict]:
        return [{"index": i, "score": float(MARK in t)} for i, t in enumerate(body["texts"])]

    @app.post("/slow/rerank")
    def slow(body: dict) -> list[dict]:
        time.sleep(1.0)
        return tei(body)

    @app.post("/infinity/rerank")
    def infinity(body: dict) -> dict:
        docs = body["documents"]
        return {
            "results": [
                {"index": i, "relevance_score": float(MARK in d)} for i, d in enumerate(docs)
            ]
        }

    @app.post("/broken/rerank")
    def broken(body: dict) -> dict:
        return {"nothing": "useful"}

    return app


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with live_server(_server()) as base:
        yield base


def _search(index: Path, embedder: Embedder, **settings: object) -> schemas.SearchResponse:
    config = ServiceSettings(index=index, **settings)  # type: ignore[arg-type]
    engine = Engine(config, embedder)
    return engine.search(schemas.SearchRequest(query="How can pods share one GPU?", k=1))


@pytest.mark.parametrize(("path", "protocol"), [("", "tei"), ("/infinity", "infinity")])
def test_http_reranker_alone_puts_its_best_passage_first(
    tiny_index: Path, embedder: Embedder, url: str, path: str, protocol: str
) -> None:
    out = _search(
        tiny_index,
        embedder,
        reranker="http",
        reranker_url=url + path,
        reranker_protocol=protocol,
        reranker_weight=1.0,
    )
    assert MARK in out.results[0].text
    assert "rerank_http" in out.timings_ms and "rerank_fallback" not in out.timings_ms


@pytest.mark.parametrize(("path", "timeout"), [("/slow", 0.2), ("/broken", 2.0)])
def test_http_reranker_timeout_or_bad_reply_keeps_hybrid_ranking(
    tiny_index: Path, embedder: Embedder, url: str, path: str, timeout: float
) -> None:
    plain = _search(tiny_index, embedder)
    out = _search(
        tiny_index,
        embedder,
        reranker="http",
        reranker_url=url + path,
        reranker_timeout=timeout,
        reranker_weight=1.0,
    )
    assert [r.chunk_id for r in out.results] == [r.chunk_id for r in plain.results]
    assert out.timings_ms["rerank_fallback"] == 1.0


def test_reranker_settings_without_url_or_folder_say_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(RerankerNotConfigured, match="CNAI_RERANKER_URL"):
        make("http", tmp_path, "")
    with pytest.raises(RerankerNotConfigured, match="does not exist"):
        make("cross-encoder", tmp_path / "missing", "")
