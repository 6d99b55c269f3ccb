"""Retrieval and answer metrics, each a small pure function with worked examples in the tests."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from eval.dataset import Gold

_MARKUP = re.compile(r"[*_`]")
_CITE = re.compile(r"\[\d+\]")


def normalise(text: str) -> str:
    return " ".join(_MARKUP.sub("", text).lower().split())


def matches(doc_path: str, text: str, gold: Gold) -> bool:
    """A passage supports a gold entry when it comes from its document and holds a phrase."""
    if doc_path != gold.source and not doc_path.endswith("/" + gold.source):
        return False
    body = normalise(text)
    return any(normalise(p) in body for p in gold.evidence)


def gold_ranks(retrieved: Sequence[tuple[str, str]], gold: Sequence[Gold]) -> list[list[int]]:
    """For each gold entry, the 1-based ranks of the retrieved (doc_path, text) that match it."""
    return [
        [r for r, (doc, text) in enumerate(retrieved, start=1) if matches(doc, text, g)]
        for g in gold
    ]


def first_relevant(ranks: list[list[int]]) -> int | None:
    found = [r for rs in ranks for r in rs]
    return min(found) if found else None


def hit_at(ranks: list[list[int]], k: int) -> float:
    first = first_relevant(ranks)
    return float(first is not None and first <= k)


def reciprocal_rank(ranks: list[list[int]]) -> float:
    first = first_relevant(ranks)
    return 1.0 / first if first else 0.0


def gold_recall_at(ranks: list[list[int]], k: int) -> float:
    """Share of gold entries with a matching passage in the top k (for multi-hop questions)."""
    if not ranks:
        return 0.0
    return sum(any(r <= k for r in rs) for rs in ranks) / len(ranks)


def ndcg_at(ranks: list[list[int]], k: int, needed: int) -> float:
    """Binary-relevance nDCG; ``needed`` is how many distinct relevant passages are ideal."""
    relevant = {r for rs in ranks for r in rs if r <= k}
    dcg = sum(1.0 / math.log2(r + 1) for r in relevant)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(needed, k) + 1))
    return dcg / ideal if ideal else 0.0


def key_fact_recall(answer: str, facts: Sequence[str]) -> float:
    """Share of key facts whose any '|'-separated alternative appears in the answer."""
    if not facts:
        return 0.0
    body = normalise(_CITE.sub("", answer))
    found = sum(any(normalise(alt) in body for alt in f.split("|") if alt.strip()) for f in facts)
    return found / len(facts)


def safe_mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def abstention_scores(
    abstained: Sequence[bool], answerable: Sequence[bool]
) -> dict[str, float | None]:
    """Precision and recall of abstaining, taking unanswerable questions as the positives."""
    pairs = list(zip(abstained, answerable, strict=True))
    true_pos = sum(a and not ans for a, ans in pairs)
    predicted = sum(a for a, _ in pairs)
    positives = sum(not ans for _, ans in pairs)
    return {
        "abstention_precision": true_pos / predicted if predicted else None,
        "abstention_recall": true_pos / positives if positives else None,
        "abstention_accuracy": sum(a == (not ans) for a, ans in pairs) / len(pairs)
        if pairs
        else None,
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
