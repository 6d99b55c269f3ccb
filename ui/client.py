"""The UI's HTTP client for the CNAI API; it turns transport and HTTP failures into two errors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from service.schemas import AskResponse, FeedbackStored, Filters, IndexInfo

API_URL_ENV = "CNAI_API_URL"
TIMEOUT_ENV = "CNAI_UI_TIMEOUT"
DEFAULT_API_URL = "http://127.0.0.1:8000"
START_HINT = "start it with `cnai serve` (or `make run` for the API and the UI together)"


class InvalidUiSetting(ValueError):
    """A CNAI_* variable the UI reads holds a value it cannot use."""


class InvalidApiUrl(InvalidUiSetting):
    """The configured API base URL is not an http(s) URL."""


class ApiUnavailable(Exception):
    """The API could not be reached, or did not answer in time."""


class ApiTimeout(ApiUnavailable):
    """The API was reached but did not answer in time."""


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


def timeout_from_env(default: float = 60.0) -> float:
    """Seconds the UI waits for an answer (CNAI_UI_TIMEOUT); InvalidUiSetting says what is wrong."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise InvalidUiSetting(f"{TIMEOUT_ENV}={raw!r} must be a number of seconds in (0, 3600]")
    return value


def api_url_from_env() -> str:
    return validate_api_url(os.environ.get(API_URL_ENV) or DEFAULT_API_URL)


class ApiClient:
    def __init__(self, base_url: str | None = None, timeout: float = 30.0) -> None:
        self.base_url = validate_api_url(base_url) if base_url else api_url_from_env()
        self.timeout = timeout

    def ask(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        mode: str | None = None,
        history: list[dict[str, str]] | None = None,
    ) -> AskResponse:
        payload = _payload(question, k, filters, mode, history)
        response = self._request("POST", "/v1/ask", json=payload)
        if response.is_error:
            raise _api_error(response)
        return _parse(response.content, response.status_code)

    def ask_stream(
        self,
        question: str,
        k: int = 5,
        filters: Filters | None = None,
        mode: str | None = None,
        history: list[dict[str, str]] | None = None,
    ) -> Iterator[str | AskResponse]:
        """The answer's sentences as the server verifies them, then the whole response.

        Closing the iterator early closes the connection, which stops the server's generation.
        """
        url = self.base_url + "/v1/ask/stream"
        payload = _payload(question, k, filters, mode, history)
        with self._transport() as http, http.stream("POST", url, json=payload) as response:
            if response.is_error:
                response.read()
                raise _api_error(response)
            event = ""
            # Our server sends one "event:" and one "data:" line per event; that needs no library.
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = line.removeprefix("data: ")
                    if event == "token":
                        yield str(json.loads(data)["text"])
                    elif event == "final":
                        yield _parse(data.encode(), response.status_code)
                        return
                    elif event == "error":  # the server failed after the stream began
                        error = json.loads(data)["error"]
                        raise ApiError(response.status_code, error["code"], error["message"])
        raise ApiError(502, "bad_response", "the answer stream ended without its final event")

    def feedback(
        self,
        question: str,
        response: AskResponse,
        rating: str,
        comment: str = "",
        history: list[dict[str, str]] | None = None,
    ) -> FeedbackStored:
        """Send a reader's thumbs up or down (and comment) on ``response`` to the API."""
        body = {
            "question": question,
            "answer": response.answer,
            "citations": [c.model_dump() for c in response.citations],
            "history": history or [],
            "rating": rating,
            "comment": comment,
            "abstained": response.abstained,
            "mode": response.mode,
        }
        reply = self._request("POST", "/v1/feedback", json=body)
        if reply.is_error:
            raise _api_error(reply)
        return FeedbackStored.model_validate(_json(reply))

    def index(self) -> IndexInfo:
        """What the API's loaded index holds (GET /v1/index)."""
        reply = self._request("GET", "/v1/index")
        if reply.is_error:
            raise _api_error(reply)
        try:
            return IndexInfo.model_validate(_json(reply))
        except ValidationError as exc:
            raise ApiError(200, "bad_response", f"unexpected index from the API: {exc}") from None

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
        with self._transport(timeout) as http:
            return http.request(method, self.base_url + path, **kwargs)

    @contextmanager
    def _transport(self, timeout: float | None = None) -> Iterator[httpx.Client]:
        """A client per call, its transport failures turned into ApiUnavailable saying what to do.

        Streamlit reruns the script often and nothing outlives a run.
        """
        limit = self.timeout if timeout is None else timeout
        try:
            key = os.environ.get("CNAI_API_KEY", "").strip()
            auth = {"Authorization": f"Bearer {key}"} if key else {}
            with httpx.Client(timeout=limit, headers=auth) as http:
                yield http
        except httpx.TimeoutException:
            raise ApiTimeout(
                f"The CNAI API at {self.base_url} did not answer within {limit:g} s. "
                "It may be busy (a generated answer takes seconds): try again, or check that it "
                f"is running; {START_HINT}."
            ) from None
        except httpx.TransportError as exc:
            raise ApiUnavailable(
                f"Cannot reach the CNAI API at {self.base_url} ({exc.__class__.__name__}). "
                f"Is it running? {START_HINT[0].upper()}{START_HINT[1:]}, "
                f"or set {API_URL_ENV} to where it runs."
            ) from None


def _payload(
    question: str,
    k: int,
    filters: Filters | None,
    mode: str | None,
    history: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    # The question is sent as given: the server owns validation and explains what is wrong.
    payload: dict[str, Any] = {"question": question, "k": k}
    if history:
        payload["history"] = history
    if mode is not None:
        payload["mode"] = mode
    if filters is not None:
        payload["filters"] = filters.model_dump(exclude_none=True)
    return payload


def _parse(content: bytes, status: int) -> AskResponse:
    try:
        return AskResponse.model_validate_json(content)
    except ValidationError as exc:
        raise ApiError(status, "bad_response", f"unexpected answer from the API: {exc}") from None


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
