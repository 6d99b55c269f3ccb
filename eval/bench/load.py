"""Bounded load on loopback: N clients for S seconds against a real ``cnai serve``.

``drive`` is the one concurrent request loop of ``cnai bench`` (the throughput section uses it
for /v1/search alone); ``load`` mixes /v1/search and extractive /v1/ask, half each, and reports
requests, errors, req/s and p50/p95/p99 per route. Traffic goes only to 127.0.0.1, stops at the
deadline (plus at most one request timeout) or after ``max_requests``, whichever comes first.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from eval.bench.rows import Row, row
from eval.bench.server import Server
from eval.metrics import percentile

Say = Callable[[str], None]
# route -> JSON body for one question
Request = tuple[str, dict[str, object]]

SECONDS = 60.0  # the full length
CLIENTS = 32
MAX_REQUESTS = 1_000_000  # a hard bound on top of the deadline
TIMEOUT_S = 30.0  # per request; a request still running at the deadline finishes or fails
# The server under load: no rate limit (the load comes from one address and would be 429s),
# and answers are extractive so no generation bound applies.
SERVER_ENV = {"CNAI_RATE_LIMIT_PER_MINUTE": "0", "CNAI_ANSWERER": "extractive"}


@dataclass
class RouteStats:
    ok: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # of the errors: status or exception

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    def p(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)


def mixed(questions: Sequence[str], k: int = 5) -> Callable[[int], Request]:
    """Request n: /v1/search for even n, /v1/ask (extractive) for odd n, cycling questions."""
    if not questions:
        raise ValueError("the load needs at least one question")

    def make(n: int) -> Request:
        q = questions[(n // 2) % len(questions)]
        if n % 2 == 0:
            return "/v1/search", {"query": q, "k": k}
        return "/v1/ask", {"question": q, "k": k, "mode": "extractive"}

    return make


def search_only(questions: Sequence[str], k: int = 5) -> Callable[[int], Request]:
    def make(n: int) -> Request:
        return "/v1/search", {"query": questions[n % len(questions)], "k": k}

    return make


async def drive(
    url: str,
    clients: int,
    seconds: float,
    make: Callable[[int], Request],
    max_requests: int = MAX_REQUESTS,
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, RouteStats], float]:
    """``clients`` loops, each sending its next request as soon as the last returned, until
    ``seconds`` pass or ``max_requests`` were sent; per-route stats and the elapsed seconds."""
    if clients < 1 or seconds <= 0 or max_requests < 1:
        raise ValueError(
            f"clients must be >= 1, seconds > 0 and max_requests >= 1; got {clients}, "
            f"{seconds}, {max_requests}"
        )
    stats: dict[str, RouteStats] = {}
    sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, timeout=TIMEOUT_S, limits=limits, headers=headers
    ) as client:
        # After the client exists: making it (TLS context) can take a second on a busy machine.
        deadline = time.perf_counter() + seconds

        async def one() -> None:
            nonlocal sent
            while time.perf_counter() < deadline and sent < max_requests:
                route, body = make(sent)
                sent += 1
                s = stats.setdefault(route, RouteStats())
                start = time.perf_counter()
                try:
                    resp = await client.post(route, json=body)
                    status = str(resp.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if status == "200":
                    s.ok += 1
                    s.latencies_ms.append((time.perf_counter() - start) * 1000)
                else:
                    s.errors += 1
                    s.statuses[status] += 1

        begin = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(clients)))
        elapsed = time.perf_counter() - begin  # requests in flight at the deadline finish
    return stats, elapsed


def rows_of(stats: dict[str, RouteStats], elapsed: float, clients: int, workers: int) -> list[Row]:
    s = f"load ({clients} clients, {elapsed:.0f} s, {workers} worker(s), rate limit off)"
    out: list[Row] = []
    total = RouteStats()
    for route in sorted(stats):
        r = stats[route]
        total.ok += r.ok
        total.errors += r.errors
        total.statuses.update(r.statuses)
        out += [
            row(s, f"{route} requests", r.requests, "count"),
            row(s, f"{route} req/s", r.ok / elapsed, "req/s"),
            row(s, f"{route} errors", r.errors, "count", "", None, "== 0", r.errors == 0),
            row(s, f"{route} p50", r.p(0.5), "ms"),
            row(s, f"{route} p95", r.p(0.95), "ms"),
            row(s, f"{route} p99", r.p(0.99), "ms"),
        ]
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(total.statuses.items())) or "none"
    out += [
        row(s, "all requests", total.requests, "count"),
        row(s, "all req/s", total.ok / elapsed, "req/s"),
        row(s, f"all errors ({kinds})", total.errors, "count", "", None, "== 0", total.errors == 0),
    ]
    return out


def load(
    index: Path,
    questions: Sequence[str],
    clients: int = CLIENTS,
    seconds: float = SECONDS,
    workers: int = 1,
    max_requests: int = MAX_REQUESTS,
    say: Say = print,
) -> list[Row]:
    """Start ``cnai serve`` over ``index`` on loopback (rate limit off), warm it up, then run
    ``clients`` clients for ``seconds`` mixing /v1/search and /v1/ask; rows per route."""
    make = mixed(questions)
    say(
        f"load: starting the API ({workers} worker(s), CNAI_RATE_LIMIT_PER_MINUTE=0 so the "
        "load is not turned into 429s)"
    )
    with Server(index, workers=workers, env=SERVER_ENV) as server:
        asyncio.run(drive(server.url, min(clients, 4), min(2.0, seconds), make))  # warm-up
        say(f"load: {clients} clients for {seconds:g} s, /v1/search and /v1/ask half each")
        stats, elapsed = asyncio.run(drive(server.url, clients, seconds, make, max_requests))
    return rows_of(stats, elapsed, clients, workers)
