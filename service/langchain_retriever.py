"""The hybrid retriever as a LangChain ``BaseRetriever``, for chains and agents built on LangChain.

Example: ``CnaiRetriever.from_index("var/index", k=5).invoke("How is MIG used for inference?")``
returns LangChain ``Document`` objects with the passage's source and score in their metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from service import schemas
from service.engine import Engine
from service.settings import ServiceSettings


class CnaiRetriever(BaseRetriever):
    """Top ``k`` passages of an index: BM25 and dense search fused, then reranked."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Engine
    k: int = Field(5, ge=1, le=50)
    filters: schemas.Filters | None = None

    @classmethod
    def from_index(cls, index: str | Path, **kwargs: Any) -> CnaiRetriever:
        """Load ``index`` with the default settings (``CNAI_*`` variables still apply)."""
        return cls(engine=Engine(ServiceSettings(index=Path(index))), **kwargs)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        request = schemas.SearchRequest(query=query, k=self.k, filters=self.filters)
        return [
            Document(
                page_content=r.text,
                id=r.chunk_id,
                metadata={"score": r.score, **r.source.model_dump(exclude_none=True)},
            )
            for r in self.engine.search(request).results
        ]
