"""Every metric on a worked example, including the edge cases."""

from __future__ import annotations

import math

import pytest

from eval import metrics as m
from eval.dataset import Gold

GOLD = [Gold(source="whitepaper.md", evidence=["GPUs are scarce"])]
RETRIEVED = [
    ("cnai/other.md", "GPUs are scarce"),  # right words, wrong document
    ("cnai/whitepaper.md", "Nothing relevant here"),
    ("cnai/whitepaper.md", "Because **GPUs  are\nscarce**, share them."),  # markup and spacing
]


def test_passage_matches_gold_by_document_suffix_and_normalised_phrase() -> None:
    assert m.gold_ranks(RETRIEVED, GOLD) == [[3]]


def test_hit_mrr_and_ndcg_on_a_worked_example() -> None:
    ranks = m.gold_ranks(RETRIEVED, GOLD)
    assert (m.hit_at(ranks, 1), m.hit_at(ranks, 3)) == (0.0, 1.0)
    assert m.reciprocal_rank(ranks) == pytest.approx(1 / 3)
    assert m.ndcg_at(ranks, 5, needed=1) == pytest.approx(1 / math.log2(4))


def test_metrics_are_zero_when_no_gold_passage_is_retrieved() -> None:
    ranks = m.gold_ranks([("x.md", "nothing")], GOLD)
    assert (m.hit_at(ranks, 5), m.reciprocal_rank(ranks), m.ndcg_at(ranks, 5, 1)) == (0, 0, 0)
    assert m.gold_recall_at([], 5) == 0.0


def test_multi_hop_gold_recall_counts_each_needed_passage() -> None:
    gold = GOLD + [Gold(source="glossary.md", evidence=["MIG"])]
    ranks = m.gold_ranks(RETRIEVED + [("cnai/glossary.md", "About MIG")], gold)
    assert ranks == [[3], [4]]
    assert m.gold_recall_at(ranks, 3) == 0.5
    assert m.gold_recall_at(ranks, 5) == 1.0
    ideal = 1 + 1 / math.log2(3)
    assert m.ndcg_at(ranks, 5, needed=2) == pytest.approx((1 / 2 + 1 / math.log2(5)) / ideal)


def test_key_fact_recall_accepts_alternatives_and_ignores_markers() -> None:
    facts = ["Multi-Instance GPU|MIG", "seven", "isolation"]
    assert m.key_fact_recall("MIG splits a card into seven parts [1].", facts) == pytest.approx(
        2 / 3
    )
    assert m.key_fact_recall("", facts) == 0.0
    assert m.key_fact_recall("anything", []) == 0.0


def test_abstention_scores_take_unanswerable_questions_as_positives() -> None:
    scores = m.abstention_scores(
        abstained=[True, True, False, False], answerable=[False, True, False, True]
    )
    assert scores == {
        "abstention_precision": 0.5,
        "abstention_recall": 0.5,
        "abstention_accuracy": 0.5,
    }


def test_abstention_scores_are_undefined_without_abstentions_or_unanswerables() -> None:
    scores = m.abstention_scores(abstained=[False], answerable=[True])
    assert scores["abstention_precision"] is None
    assert scores["abstention_recall"] is None


def test_percentile_interpolates_and_handles_empty() -> None:
    assert m.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert m.percentile([], 0.5) is None
