"""The UI's HTTP client for the CNAI API; it turns transport and HTTP failures into two errors."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from service.schemas import AskResponse, Filters

API_URL_ENV = "CNAI_API_URL"
DEFAULT_API_URL = "http://127.0.0.1:8000"
START_HINT = "start it with `cnai serve` (or `make run` for the API and the UI together)"


class InvalidApiUrl(ValueError):
    """The configured API base URL is not an http(s) URL."""


class ApiUnavailable(Exception):
    """The API could not be reached, or did not answer in time."""


class ApiError(Exception):
    """The API answered with an HTTP error; ``message`` is the server's own explanation."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"the API answered {status} ({code}): {message}")
        self.status = status
        self.code = code
        self.message = message


def validate_api_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise InvalidApiUrl saying what is expected."""
    value = url.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidApiUrl(
            f"{API_URL_ENV}={url!r} is not a valid API URL; expected http(s)://host[:port], "
            f"e.g. {DEFAULT_API_URL}"
        )
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        raise InvalidApiUrl(f"{API_URL_ENV}={url!r} has an invalid port ({exc})") from None
    return value.rstrip("/")


def api_url_from_env() -> str:
    return validate_api_url(os.environ.get(API_URL_ENV) or DEFAULT_API_URL)


class ApiClient:
    def __init__(self, base_url: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = validate_api_url(base_url) if base_url else api_url_from_env()
        self.timeout = timeout

    def ask(
        self, question: str, k: int = 5, filters: Filters | None = None, mode: str | None = None
    ) -> AskResponse:
        # The question is sent as given: the server owns validation and explains what is wrong.
        payload: dict[str, Any] = {"question": question, "k": k}
        if mode is not None:
            payload["mode"] = mode
        if filters is not None:
            payload["filters"] = filters.model_dump(exclude_none=True)
        response = self._request("POST", "/v1/ask", json=payload)
        if response.is_error:
            raise _api_error(response)
        try:
            return AskResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise ApiError(
                response.status_code, "bad_response", f"unexpected /v1/ask response: {exc}"
            ) from None

    def ready(self) -> tuple[bool, str]:
        """(True, summary) when the index is loaded; otherwise (False, why), never raising."""
        try:
            response = self._request("GET", "/readyz", timeout=min(self.timeout, 5.0))
        except ApiUnavailable as exc:
            return False, str(exc)
        if response.is_error:
            return False, _api_error(response).message
        body = _json(response)
        if "documents" in body and "chunks" in body:
            return True, f"ready: {body['documents']} documents, {body['chunks']} passages"
        return True, "ready"

    def _request(
        self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        url = self.base_url + path
        limit = self.timeout if timeout is None else timeout
        try:
            # A client per call: Streamlit reruns the script often and nothing outlives a run.
            with httpx.Client(timeout=limit) as http:
                return http.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise ApiUnavailable(
                f"The CNAI API at {self.base_url} did not answer within {limit:g} s. "
                f"Check that it is running; {START_HINT}."
            ) from None
        except httpx.TransportError as exc:
            raise ApiUnavailable(
                f"Cannot reach the CNAI API at {self.base_url} ({exc.__class__.__name__}). "
                f"Is it running? {START_HINT[0].upper()}{START_HINT[1:]}, "
                f"or set {API_URL_ENV} to where it runs."
            ) from None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _api_error(response: httpx.Response) -> ApiError:
    body = _json(response)
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        return ApiError(
            response.status_code, str(error.get("code", "error")), str(error["message"])
        )
    # Not our error shape (e.g. a proxy in between): show what came back, briefly.
    detail = body.get("detail") or response.text.strip()[:300] or response.reason_phrase
    return ApiError(response.status_code, "http_error", str(detail))
