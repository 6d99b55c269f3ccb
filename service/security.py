"""API keys, the admin-path table and CORS: one app-wide dependency (issue 15).

Keys come from ``CNAI_API_KEYS`` / ``CNAI_ADMIN_KEYS`` (comma-separated) and/or a keys file
(``CNAI_API_KEYS_FILE``: one key a line, ``admin:KEY`` for an admin key, ``#`` comments).
With no key configured the API is open (the default, for loopback use); keys are compared
with ``hmac.compare_digest`` and never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ingest.errors import BadInput

log = logging.getLogger(__name__)

# Paths open to anyone even when keys are configured (probes and scraping).
PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz", "/readyz", "/metrics"})
# The one table of admin paths: a request path equal to or under one of these needs an admin key.
ADMIN_PREFIXES: tuple[str, ...] = ("/v1/ingest", "/v1/feedback/export", "/v1/reindex", "/v1/admin")

HOW_TO = (
    "set CNAI_ADMIN_KEYS=key1,key2 (or an 'admin:KEY' line in the file named by "
    "CNAI_API_KEYS_FILE) and restart the server"
)


def _split(value: str | None) -> list[str]:
    return [k.strip() for k in (value or "").split(",") if k.strip()]


@dataclass(frozen=True)
class Keys:
    user: tuple[str, ...] = ()
    admin: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.user or self.admin)

    @classmethod
    def load(cls, api_keys: str = "", admin_keys: str = "", keys_file: Path | None = None) -> Keys:
        user, admin = _split(api_keys), _split(admin_keys)
        if keys_file is not None:
            try:
                lines = Path(keys_file).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise BadInput(
                    f"cannot read keys file {keys_file}: {exc.strerror}; "
                    "fix CNAI_API_KEYS_FILE or unset it"
                ) from exc
            for line in lines:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("admin:"):
                    admin.append(line[len("admin:") :].strip())
                else:
                    user.append(line.removeprefix("user:").strip())
        for key in (*user, *admin):
            if len(key) < 16:
                raise BadInput(
                    "every API key must be at least 16 characters; "
                    "generate one with `python -c 'import secrets;"
                    "print(secrets.token_urlsafe(32))'`"
                )
        return cls(tuple(user), tuple(admin))


def _matches(candidate: str, keys: tuple[str, ...]) -> bool:
    # Compare against every key so timing does not reveal which (or how many) matched.
    hit = False
    for key in keys:
        hit |= hmac.compare_digest(candidate.encode(), key.encode())
    return hit


def is_admin_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in ADMIN_PREFIXES)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class AuthError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _deny(status: int, message: str) -> AuthError:
    return AuthError(status, message)


def require_key(request: Request) -> str | None:
    """The app-wide dependency; returns the caller's role (None when auth is off)."""
    keys: Keys = getattr(request.app.state, "keys", Keys())
    path = request.url.path
    if not keys.enabled or path in PUBLIC_PATHS:
        return None
    token = _bearer(request)
    admin_path = is_admin_path(path)
    if token is None:
        raise _deny(401, "missing API key: send the header 'Authorization: Bearer <key>'")
    is_admin = _matches(token, keys.admin)
    if not is_admin and not _matches(token, keys.user):
        raise _deny(401, "invalid API key: check the key sent in 'Authorization: Bearer <key>'")
    if admin_path and not is_admin:
        if not keys.admin:
            raise _deny(403, f"this route needs an admin key and none is configured: {HOW_TO}")
        raise _deny(403, "this route needs an admin key; a user key was sent")
    return "admin" if is_admin else "user"


def install(app: FastAPI, keys: Keys, cors_origins: list[str]) -> None:
    """Keep ``keys`` on the app state; add CORS only for the origins given."""
    app.state.keys = keys

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        code = "unauthorized" if exc.status == 401 else "forbidden"
        headers = {"WWW-Authenticate": 'Bearer realm="cnai"'} if exc.status == 401 else None
        return JSONResponse(
            {"error": {"code": code, "message": exc.message}},
            status_code=exc.status,
            headers=headers,
        )

    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, keys: Keys) -> str | None:
    if is_loopback(host) or keys.enabled:
        return None
    return (
        f"serving on {host} with no API keys: anyone who can reach this port can use the "
        "API; set CNAI_API_KEYS (and CNAI_ADMIN_KEYS) or bind to 127.0.0.1"
    )
