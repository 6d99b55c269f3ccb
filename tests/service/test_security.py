"""Auth matrix against a real uvicorn server: every route x {no key, wrong key, user, admin}."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from ingest.embed import Embedder
from ingest.errors import BadInput
from service import security
from service.app import create_app
from service.engine import Engine
from service.settings import ServiceSettings
from tests.service.conftest import live_server

USER = "user-key-0123456789abcdef"
ADMIN = "admin-key-0123456789abcdef"
WRONG = "wrong-key-0123456789abcdef"

# (method, path, json body) of every route the app serves today.
ROUTES = [
    ("GET", "/v1/models", None),
    ("POST", "/v1/search", {"query": "kubeflow pipelines", "k": 2}),
    ("POST", "/v1/ask", {"question": "what is kubeflow?", "mode": "extractive"}),
    ("POST", "/v1/ask/stream", {"question": "what is kubeflow?", "mode": "extractive"}),
    (
        "POST",
        "/v1/chat/completions",
        {
            "model": "cnai-extractive",
            "messages": [{"role": "user", "content": "what is kubeflow?"}],
        },
    ),
]
# FastAPI's own /docs and /openapi.json bypass app dependencies; the schema is not a secret.
PUBLIC = [("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/openapi.json")]
ADMIN_PATHS = ["/v1/ingest", "/v1/ingest/jobs/x", "/v1/feedback/export", "/v1/reindex"]


def _with_admin_routes(app: FastAPI) -> FastAPI:
    # The real admin routes land from other branches; these stand-ins sit behind the same
    # app-wide dependency, which is what is under test here.
    for path in ADMIN_PATHS:
        app.add_api_route(path, lambda: {"ok": True}, methods=["POST"])
    return app


def _settings(index: Path, **extra: object) -> ServiceSettings:
    return ServiceSettings(index=index, api_keys=USER, admin_keys=ADMIN, **extra)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def base(tiny_index: Path, embedder: Embedder) -> Iterator[str]:
    config = _settings(tiny_index, cors_origins="http://ui.example")
    app = create_app(config, engine_factory=lambda: Engine(config, embedder))
    with live_server(_with_admin_routes(app)) as url:
        yield url


def _call(base: str, method: str, path: str, body: object, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, base + path, json=body, headers=headers, timeout=60)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("key", [None, WRONG])
def test_protected_routes_refuse_missing_or_wrong_key(
    base: str, method: str, path: str, body: object, key: str | None
) -> None:
    r = _call(base, method, path, body, key)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer" in r.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("key", [USER, ADMIN])
def test_protected_routes_accept_user_and_admin_keys(
    base: str, method: str, path: str, body: object, key: str
) -> None:
    assert _call(base, method, path, body, key).status_code == 200


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_probes_need_no_key(base: str, method: str, path: str) -> None:
    assert _call(base, method, path, None, None).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_admin_paths_refuse_a_user_key(base: str, path: str) -> None:
    assert _call(base, "POST", path, {}, None).status_code == 401
    r = _call(base, "POST", path, {}, USER)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    # past the key check: the stand-in answers, the real /v1/ingest validates the empty body
    assert _call(base, "POST", path, {}, ADMIN).status_code in (200, 422)


def test_malformed_authorization_headers(base: str) -> None:
    for header in ["Basic " + USER, "Bearer", "Token " + USER, USER, "bearer " + USER + "x"]:
        r = httpx.post(base + "/v1/search", json={"query": "x"}, headers={"Authorization": header})
        assert r.status_code == 401, header
    r = httpx.post(
        base + "/v1/search", json={"query": "kubeflow"}, headers={"Authorization": "bearer " + USER}
    )
    assert r.status_code == 200


def test_cors_allows_only_configured_origin(base: str) -> None:
    pre = {"Access-Control-Request-Method": "POST"}
    ok = httpx.options(base + "/v1/search", headers={"Origin": "http://ui.example", **pre})
    assert ok.headers.get("access-control-allow-origin") == "http://ui.example"
    bad = httpx.options(base + "/v1/search", headers={"Origin": "http://evil.example", **pre})
    assert bad.headers.get("access-control-allow-origin") is None


def test_admin_path_without_admin_keys_says_how_to_configure(
    tiny_index: Path, embedder: Embedder
) -> None:
    config = ServiceSettings(index=tiny_index, api_keys=USER)  # type: ignore[arg-type]
    app = create_app(config, engine_factory=lambda: Engine(config, embedder))
    with live_server(_with_admin_routes(app)) as url:
        r = _call(url, "POST", "/v1/ingest", {}, USER)
        assert r.status_code == 403
        assert "CNAI_ADMIN_KEYS" in r.json()["error"]["message"]
        assert _call(url, "POST", "/v1/search", {"query": "kubeflow"}, USER).status_code == 200


def test_keys_file_and_short_keys(tmp_path: Path) -> None:
    f = tmp_path / "keys"
    f.write_text(f"# comment\n{USER}\nadmin:{ADMIN}\n\n", encoding="utf-8")
    keys = security.Keys.load(keys_file=f)
    assert keys.user == (USER,) and keys.admin == (ADMIN,)
    with pytest.raises(BadInput, match="16 characters"):
        security.Keys.load(api_keys="short")
    with pytest.raises(BadInput, match="CNAI_API_KEYS_FILE"):
        security.Keys.load(keys_file=tmp_path / "missing")


def test_no_keys_means_open_and_exposure_warning() -> None:
    assert not security.Keys().enabled
    assert security.exposure_warning("127.0.0.1", security.Keys()) is None
    assert security.exposure_warning("::1", security.Keys()) is None
    warning = security.exposure_warning("0.0.0.0", security.Keys())
    assert warning and "CNAI_API_KEYS" in warning
    assert security.exposure_warning("0.0.0.0", security.Keys(user=(USER,))) is None


def test_keys_never_appear_in_settings_repr(tiny_index: Path) -> None:
    text = repr(_settings(tiny_index)) + str(_settings(tiny_index).model_dump())
    assert USER not in text and ADMIN not in text
