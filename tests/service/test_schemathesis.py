"""Property-based API test: schemathesis generates requests from the served OpenAPI schema.

Every operation of ``/openapi.json`` is called by schemathesis with generated bodies, paths and
queries against a real uvicorn on loopback, serving a copy of the tiny real index with the real
embedder (generative modes answer with a scripted generator). Each response must not be a 5xx,
must carry a documented status code and content type, and must match the documented schema.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation

from ingest.embed import Embedder
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings
from tests.service.conftest import live_server
from tests.service.fakes import ScriptedLLM

USER_KEY = "schemathesis-user-key-0001"
ADMIN_KEY = "schemathesis-admin-key-0001"
# Enough to reach past the validation errors into real answers on each operation, while the
# whole file stays well under two minutes on a busy two-core machine.
EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
REPLY = "Multi-Instance GPU cuts a card into up to seven hardware partitions. "
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
SEEN: Counter[str] = Counter()
STATUSES: Counter[tuple[str, int]] = Counter()  # (operation (mode), status) -> responses
# Valid requests to these must reach the real engine, not stop at validation.
ANSWERED = ("POST /v1/search", "POST /v1/ask", "POST /v1/ask/stream", "POST /v1/chat/completions")
ROUTES = {
    "POST /v1/search",
    "POST /v1/ask",
    "POST /v1/ask/stream",
    "POST /v1/chat/completions",
    "GET /v1/models",
    "POST /v1/feedback",
    "GET /v1/feedback/export",
    "GET /v1/index",
    "POST /v1/ingest",
    "GET /v1/ingest/{job_id}",
    "GET /healthz",
    "GET /readyz",
}


@pytest.fixture(scope="module")
def api_url(
    tiny_index: Path,
    tiny_corpus: Path,
    embedder: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    work = tmp_path_factory.mktemp("schemathesis")
    index = Path(shutil.copytree(tiny_index, work / "index"))
    config = ServiceSettings(
        index=index,
        api_keys=USER_KEY,
        admin_keys=ADMIN_KEY,
        feedback_db=work / "feedback.db",
        ingest_roots=[tiny_corpus.parent],
        ingest_staging=work / "staging",
    )
    llms = {"local": ScriptedLLM(REPLY), "openai": ScriptedLLM(REPLY, name="openai")}
    app = create_app(config, engine_factory=lambda: Engine(config, embedder, llms))
    with live_server(app) as url:
        yield url
    print(f"\nschemathesis: {sum(SEEN.values())} calls over {len(SEEN)} operations and modes")
    for label, n in sorted(SEEN.items()):
        codes = sorted((c, k) for (op, c), k in STATUSES.items() if op == label)
        print(f"  {label}: {n} ({', '.join(f'{c}: {k}' for c, k in codes)})")


def _run(operation: APIOperation, mode: GenerationMode, url: str) -> list[str]:
    """Call ``operation`` with EXAMPLES generated cases; the failures, one message each."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        label = f"{operation.label} ({mode.value})"
        SEEN[label] += 1
        response = case.call(base_url=url, headers=AUTH, timeout=60)
        STATUSES[label, response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=AUTH)
        except FailureGroup as exc:
            failures.append(str(exc))

    try:
        call()
    except Unsatisfiable:
        # No invalid request exists for an operation without parameters or body (GET /healthz).
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


def test_schema_documents_every_route(api_url: str) -> None:
    labels = {
        op.ok().label
        for op in schemathesis.openapi.from_url(f"{api_url}/openapi.json").get_all_operations()
    }
    assert labels >= ROUTES, ROUTES - labels


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema_and_never_fails_with_5xx(
    api_url: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    failures: dict[str, list[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found = _run(operation, mode, api_url)
        if found:
            failures[operation.label] = found
    report = "\n\n".join(f"{label}:\n{msgs[0]}" for label, msgs in failures.items())
    assert not failures, report
    if mode is GenerationMode.POSITIVE:
        for label in ANSWERED:
            ok = sum(
                n for (op, c), n in STATUSES.items() if op.startswith(label + " (") and c == 200
            )
            assert ok > 0, f"no generated request to {label} was answered"
