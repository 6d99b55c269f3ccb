"""Settings of the API process (env prefix ``CNAI_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.settings import DEFAULT_MODEL


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CNAI_", extra="ignore")

    index: Path = Field(Path("var/index"), description="Index folder built by `cnai ingest`.")
    embedding_model: str = Field(
        DEFAULT_MODEL, description="Must match the model recorded in the index manifest."
    )
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Torch threads per process; 1 keeps query latency steady on a busy machine.",
    )
    candidates: int = Field(
        50, ge=5, le=1000, description="Passages each retriever contributes before fusion."
    )
    dense_weight: float = Field(1.0, ge=0, le=10, description="Weight of the dense ranking in RRF.")
    sparse_weight: float = Field(1.0, ge=0, le=10, description="Weight of the BM25 ranking in RRF.")
    rrf_k: int = Field(60, ge=1, le=1000, description="Rank constant of reciprocal-rank fusion.")
    min_evidence: float = Field(
        0.3,
        ge=-1,
        le=1,
        description="Abstain when no sentence of the retrieved passages reaches this cosine "
        "similarity to the question (chosen on the dev set's unanswerable questions).",
    )
    answer_sentences: int = Field(3, ge=1, le=10, description="Most sentences in an answer.")

    @field_validator("host")
    @classmethod
    def _host_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value
