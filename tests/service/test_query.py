"""The search query drops the words that only name the question's source (a grammatical rule)."""

from __future__ import annotations

import pytest

from service.query import search_query


@pytest.mark.parametrize(
    ("question", "query"),
    [
        # the source after a preposition
        ("According to the document, how are backups rotated?", ", how are backups rotated?"),
        ("how are quotas enforced in this doc", "how are quotas enforced"),
        ("What retry limits come from our whitepaper?", "What retry limits come ?"),
        # a question with do-support: the verb after the source goes with it, whatever it is
        ("What does the document advise about retries?", "What about retries?"),
        ("Which caches did the paper benchmark last?", "Which caches last?"),
        ("Does your doc cover log shipping at all?", "log shipping at all?"),
        # the source with the name of what it documents, taken out with it
        ("Who signs releases in the Acme Widget whitepaper?", "Who signs releases ?"),
        ("What does the QFS doc recommend for snapshots?", "What for snapshots?"),
        (
            "how are the whole paper trails archived in the doc",
            "how are the whole paper trails archived",
        ),
        # the source as subject of a present-tense verb
        ("The whitepaper ranks three storage tiers - which?", "three storage tiers - which?"),
        # nothing to take out, or too little left to search with: the question as asked
        ("How do I rotate backup keys?", "How do I rotate backup keys?"),
        ("What does the document say?", "What does the document say?"),
        # a paper, the documentation or a part of the source as the thing asked about
        ("Is there a paper on GPU scheduling?", "Is there a paper on GPU scheduling?"),
        ("Where is the documentation for probes?", "Where is the documentation for probes?"),
        (
            "Your doc's example uses two replicas - why?",
            "Your doc's example uses two replicas - why?",
        ),
    ],
)
def test_search_query(question: str, query: str) -> None:
    assert search_query(question) == query
