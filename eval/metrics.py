"""Retrieval and answer metrics, each a small pure function with worked examples in the tests.

Edge cases, the same everywhere: a metric that does not apply to a question is ``None`` and is
left out of every mean (retrieval and reference metrics on unanswerable questions; faithfulness
and citation precision on abstentions and on answers with no sentence or no citation). An
abstention on an answerable question scores 0 key-fact recall and 0 token F1.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from eval.dataset import Gold
from ingest.text import cited_sentences
from service.answering.support import SUPPORTED

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
    """Binary-relevance nDCG; ``needed`` is how many distinct relevant passages are ideal.

    Each gold entry earns credit once, at its best rank not already credited to another, and
    only the best ``needed`` credits count: with alternatives (needed=1) that is the first
    relevant passage, so extra copies of the same evidence cannot push nDCG above 1.
    """
    used: set[int] = set()
    for found in sorted((sorted(r for r in rs if r <= k) for rs in ranks), key=lambda f: f[:1]):
        free = [r for r in found if r not in used]
        if free:
            used.add(free[0])
    dcg = sum(1.0 / math.log2(r + 1) for r in sorted(used)[:needed])
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(needed, k) + 1))
    return dcg / ideal if ideal else 0.0


def key_fact_recall(answer: str, facts: Sequence[str]) -> float | None:
    """Share of key facts whose any '|'-separated alternative appears in the answer."""
    if not facts:
        return None
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


EVIDENCE_SWEEP = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def evidence_sweep(
    evidence: Sequence[float | None],
    other_rule: Sequence[bool],
    answerable: Sequence[bool],
    thresholds: Sequence[float] = EVIDENCE_SWEEP,
) -> list[dict[str, float | None]]:
    """Abstention precision and recall had the evidence threshold been each of ``thresholds``.

    A question abstains at threshold t when another rule declined it (``other_rule``) or its
    best sentence scores below t; the other rules are taken as they ran, not re-run.
    """
    rows = []
    for t in thresholds:
        would = [o or e is None or e < t for e, o in zip(evidence, other_rule, strict=True)]
        rows.append(_sweep_row(t, would, answerable))
    return rows


def _sweep_row(
    threshold: float, would: Sequence[bool], answerable: Sequence[bool]
) -> dict[str, float | None]:
    """One row of a threshold sweep: what abstaining on ``would`` scores."""
    scores = abstention_scores(would, answerable)
    return {
        "threshold": threshold,
        "abstention_precision": scores["abstention_precision"],
        "abstention_recall": scores["abstention_recall"],
        "false_abstention_rate": safe_mean(
            [float(w) for w, a in zip(would, answerable, strict=True) if a]
        ),
    }


ABSTENTION_SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def abstention_sweep(
    probabilities: Sequence[float | None],
    floors: Sequence[bool],
    answerable: Sequence[bool],
    thresholds: Sequence[float] = ABSTENTION_SWEEP,
) -> list[dict[str, float | None]]:
    """Abstention precision and recall had the abstention model's threshold been each of these.

    A question declined before the model was asked (``floors``) is declined at every threshold.
    """
    rows = []
    for t in thresholds:
        would = [
            f or (p is not None and p >= t) for p, f in zip(probabilities, floors, strict=True)
        ]
        rows.append(_sweep_row(t, would, answerable))
    return rows


def reliability(
    probabilities: Sequence[float | None], answerable: Sequence[bool], bins: int = 5
) -> list[dict[str, float | int]]:
    """Per probability bin: the mean predicted probability of "unanswerable" and the share of
    questions in it that were unanswerable, for a reliability (calibration) plot."""
    rows: list[dict[str, float | int]] = []
    pairs = [(p, not a) for p, a in zip(probabilities, answerable, strict=True) if p is not None]
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, u) for p, u in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if inside:
            rows.append(
                {
                    "low": lo,
                    "high": hi,
                    "n": len(inside),
                    "predicted": sum(p for p, _ in inside) / len(inside),
                    "observed": sum(u for _, u in inside) / len(inside),
                }
            )
    return rows


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# --- answers against the reference -------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def squad_normalise(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(answer: str, reference: str) -> float:
    """SQuAD token F1 of the answer (citation markers removed) against the reference."""
    pred = squad_normalise(_CITE.sub(" ", answer)).split()
    gold = squad_normalise(reference).split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


# --- answers against the passages --------------------------------------------------------


@dataclass
class Claim:
    """One answer sentence without its markers, and the citation numbers it carries."""

    text: str
    cited: list[int] = field(default_factory=list)


def answer_claims(answer: str) -> list[Claim]:
    """Split an answer into sentences; each keeps the numbers of its own [n] markers."""
    return [Claim(text, cited) for text, cited in cited_sentences(answer)]


def faithfulness(
    support: np.ndarray,
    cited: Sequence[Sequence[int | None]] | None = None,
    threshold: float = SUPPORTED,
) -> float | None:
    """Share of answer sentences (rows) backed by a passage (column); None for none.

    With ``cited``, a sentence with [n] markers is judged only on the passages it cites (a
    marker naming no citation backs nothing), so a miscited sentence is not faithful; a
    sentence without markers may be backed by any passage.
    """
    if support.shape[0] == 0:
        return None
    if support.shape[1] == 0:
        return 0.0
    backed = []
    for i, row in enumerate(support):
        cols = cited[i] if cited is not None else []
        if cols:
            backed.append(any(c is not None and row[c] >= threshold for c in cols))
        else:
            backed.append(bool(row.max() >= threshold))
    return float(np.mean(backed))


def citation_precision(
    cited: Sequence[Sequence[int | None]], support: np.ndarray, threshold: float = SUPPORTED
) -> float | None:
    """Share of cited sentences that a passage they cite supports.

    ``cited[i]`` lists the support columns sentence i's markers point at (None for a marker
    that names no citation); sentences without markers are not counted. None when no sentence
    cites anything.
    """
    counted = [(i, cols) for i, cols in enumerate(cited) if cols]
    if not counted:
        return None
    good = sum(
        any(c is not None and support[i, c] >= threshold for c in cols) for i, cols in counted
    )
    return good / len(counted)


def service_support(cited: Sequence[Sequence[int | None]], support: np.ndarray) -> float | None:
    """Mean of what the service's SupportScorer gives each sentence on its best cited passage
    (on any passage when it cites none): the service's own view, shown beside faithfulness."""
    if support.shape[0] == 0 or support.shape[1] == 0:
        return None
    best = []
    for i, row in enumerate(support):
        cols = [c for c in cited[i] if c is not None]
        best.append(float(row[cols].max()) if cols else (0.0 if cited[i] else float(row.max())))
    return float(np.mean(best))
