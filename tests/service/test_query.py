"""The search query drops words that only name the question's source."""

from __future__ import annotations

import pytest

from service.query import search_query


@pytest.mark.parametrize(
    ("question", "query"),
    [
        ("What does the whitepaper say about MIG?", "What about MIG?"),
        ("Per the CNAI paper, why is training hard?", ", why is training hard?"),
        ("The paper calls Kubernetes a cloud OS - why?", "Kubernetes a cloud OS - why?"),
        ("Which tools does the paper recommend for serving?", "Which tools for serving?"),
        ("how is inference defined in the whitepaper", "how is inference defined"),
        # nothing to take out, or too little left to search with: the question as asked
        ("How do I share one GPU between pods?", "How do I share one GPU between pods?"),
        ("What does the whitepaper say?", "What does the whitepaper say?"),
        # "paper" as a thing, not the source
        ("Is there a paper on GPU scheduling?", "Is there a paper on GPU scheduling?"),
    ],
)
def test_search_query(question: str, query: str) -> None:
    assert search_query(question) == query
