"""Request and response bodies of the HTTP API (the UI imports these, nothing else of ours)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["whitepaper", "glossary", "blog", "news", "talk", "doc"]
Mode = Literal["extractive", "local", "openai"]


class Strict(BaseModel):
    """A request body (or part of one): a field this API does not know is a 422, not ignored,
    so a misspelt ``filter`` or ``top_k`` is reported instead of silently doing nothing. The
    OpenAI-compatible /v1/chat/completions stays lenient: OpenAI clients send many fields."""

    model_config = ConfigDict(extra="forbid")


class Filters(Strict):
    kind: Kind | None = Field(None, description="Only passages from documents of this kind.")
    document: str | None = Field(
        None, description="Only this document id (e.g. 'cnai/glossary.md') or folder prefix."
    )
    project: str | None = Field(
        None, description="Only documents under this top folder (e.g. 'kserve')."
    )


class _Query(Strict):
    k: int = Field(5, ge=1, le=50, description="How many passages to retrieve.")
    filters: Filters | None = None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab and line breaks


def _text(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    if _CONTROL.search(value):
        raise ValueError(f"{what} must not hold control characters such as NUL; send plain text")
    return value.strip()


class SearchRequest(_Query):
    query: str = Field(..., min_length=1, max_length=2000, description="What to look for.")

    @field_validator("query")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _text(value, "query")


class Turn(Strict):
    role: Literal["user", "assistant", "system"]
    content: str = Field(..., max_length=8000)


class AskRequest(_Query):
    question: str = Field(..., min_length=1, max_length=2000, description="A question.")
    mode: Mode | None = Field(
        default=None,
        description="Answer backend: extractive, local or openai (default: CNAI_ANSWERER).",
    )
    history: list[Turn] = Field(
        default_factory=list,
        max_length=50,
        description="Earlier turns, oldest first; a follow-up question is rewritten with them.",
    )

    @field_validator("question")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _text(value, "question")


class Source(Strict):
    path: str = Field(description="Document id: the path below the ingested folder's parent.")
    title: str
    section: str = Field(description="Heading path of the passage within the document.")
    url: str = Field(description="Public link to the document, if known.")
    kind: str
    page: int | None = Field(None, description="PDF page of the passage.")
    start: str | None = Field(None, description="Talk transcript time where the passage starts.")


class SearchResult(BaseModel):
    chunk_id: str
    text: str
    score: float = Field(
        description="Rerank score (the fused reciprocal-rank score when reranking is off); "
        "higher is better."
    )
    source: Source


class SearchResponse(BaseModel):
    results: list[SearchResult]
    timings_ms: dict[str, float]


class Citation(Strict):
    id: int = Field(description="The n of the [n] markers in the answer.")
    chunk_id: str
    text: str
    source: Source


class AnswerSentence(BaseModel):
    text: str = Field(description="The sentence without its [n] markers.")
    citations: list[int] = Field(description="Ids of the citations that support it.")
    support: float = Field(description="How well those passages support it, 0 to 1.")


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    citations: list[Citation]
    timings_ms: dict[str, float]
    mode: Mode = Field(default="extractive", description="The answer backend that was asked for.")
    fallback: bool = Field(
        default=False,
        description="No generated sentence was supported by a passage, so this is the "
        "extractive answer.",
    )
    dropped: int = Field(default=0, description="Generated sentences removed as unsupported.")
    retrieval_query: str = Field(
        default="", description="The query the answer was scored against (the question, alone)."
    )
    retrieval_queries: list[str] = Field(
        default_factory=list,
        description="Every query searched: with history, the follow-up with its conversation, "
        "with the names of the last answer, and alone, fused by reciprocal rank.",
    )
    sentences: list[AnswerSentence] = Field(default_factory=list)
    evidence: float | None = Field(
        default=None,
        description="Cosine similarity of the best retrieved sentence to the question; the "
        "answer abstains below CNAI_MIN_EVIDENCE. None when no passage was retrieved.",
    )
    why_abstained: (
        Literal["unknown_name", "weak_evidence", "no_figure", "missing_terms", "missing_qualifier"]
        | None
    ) = Field(
        default=None,
        description="Why it declined: a name the knowledge base never mentions, no sentence "
        "close enough, or, by the abstention model's feature that weighed most, no answer of "
        "the kind asked for, the question's rarer words or its qualifiers (GA, final, per "
        "month) missing near the best sentences.",
    )


class ErrorBody(BaseModel):
    code: str = Field(description="Stable error code, e.g. invalid_request, unauthorized.")
    message: str = Field(description="What was wrong and what to do, in one line.")
    details: list[dict[str, Any]] | None = Field(
        None, description="invalid_request only: one entry per problem (type, loc, msg)."
    )


class ErrorResponse(BaseModel):
    """The one shape of every error the API returns."""

    error: ErrorBody


def error_response(description: str, model: bool = True) -> dict[str, Any]:
    """An error row for ``responses=``; ``model=False`` names the shape as JSON by reference,
    for a route whose own responses are not JSON (its media type would be used otherwise)."""
    if model:
        return {"model": ErrorResponse, "description": description}
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


# Documented on every route: the key check, the body cap, validation, the rate limit and an
# index or backend that is not ready can answer any request before the route itself runs.
_ERRORS: dict[int, str] = {
    401: "Missing or invalid API key (when keys are configured).",
    403: "An admin route called with a user key, or a folder outside the ingest roots.",
    413: "The body is over CNAI_MAX_BODY_BYTES, or an upload over its limit.",
    422: "The request is malformed: the message names each field and what is wrong.",
    429: "Over the rate limit; Retry-After says when to try again.",
    503: "The index is not loaded, or an answer backend is not configured or busy.",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: error_response(text) for code, text in _ERRORS.items()
}
STREAM_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: error_response(text, model=False) for code, text in _ERRORS.items()
}


Rating = Literal["up", "down"]


class FeedbackRequest(Strict):
    """A reader's verdict on one answer, with what they were shown."""

    question: str = Field(..., min_length=1, max_length=2000, description="The question asked.")
    answer: str = Field(..., max_length=20000, description="The answer that was shown.")
    citations: list[Citation] = Field(default_factory=list, max_length=50)
    history: list[Turn] = Field(
        default_factory=list, max_length=50, description="Earlier turns of the conversation."
    )
    rating: Rating = Field(description="up: the answer helped; down: it did not.")
    comment: str = Field("", max_length=2000, description="What was wrong or right, optional.")
    abstained: bool = False
    mode: Mode | None = None

    @field_validator("question")
    @classmethod
    def _strip(cls, value: str) -> str:
        return _text(value, "question")

    @field_validator("comment")
    @classmethod
    def _plain(cls, value: str) -> str:
        return _text(value, "comment") if value.strip() else ""


class FeedbackItem(FeedbackRequest):
    id: int
    created_at: str = Field(description="UTC time it was stored, ISO 8601.")
    index_version: str | None = Field(
        None, description="The index version the API served when the feedback arrived."
    )


class FeedbackStored(BaseModel):
    id: int
    created_at: str
    index_version: str | None


class FeedbackExport(BaseModel):
    items: list[FeedbackItem]


class IndexDocument(BaseModel):
    path: str
    title: str
    kind: str
    chunks: int
    url: str


class IndexInfo(BaseModel):
    version: str = Field(description="The loaded index version folder.")
    model: str = Field(description="Embedding model the index was built with.")
    dimension: int
    created_at: str = Field(description="When the index version was built, UTC.")
    documents: list[IndexDocument]
    chunks: int
    kinds: dict[str, int] = Field(description="Number of documents per kind.")
