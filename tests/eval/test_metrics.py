"""Every metric on a worked example, including the edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval import metrics as m
from eval.dataset import Gold
from service.answering.support import SUPPORTED

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


def test_key_fact_recall_does_not_apply_without_key_facts() -> None:
    assert m.key_fact_recall("anything", []) is None


def test_ndcg_never_exceeds_one_when_several_passages_hold_the_same_evidence() -> None:
    assert m.ndcg_at([[1, 2, 3]], 5, needed=1) == 1.0
    assert m.ndcg_at([[2, 3]], 5, needed=1) == pytest.approx(1 / math.log2(3))


def test_ndcg_of_multi_hop_credits_each_gold_passage_once() -> None:
    # Two chunks hold gold #1, none holds gold #2: only one of the two needed is found.
    assert m.ndcg_at([[1, 2], []], 5, needed=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert m.ndcg_at([[1], [1, 2]], 5, needed=2) == 1.0


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


def test_evidence_sweep_abstains_below_each_threshold_or_by_another_rule() -> None:
    # q1 unanswerable, weak evidence; q2 unanswerable, declined by another rule although its
    # evidence is strong; q3 answerable with middling evidence; q4 answerable, no passage.
    rows = m.evidence_sweep(
        evidence=[0.15, 0.9, 0.35, None],
        other_rule=[False, True, False, False],
        answerable=[False, False, True, True],
        thresholds=[0.1, 0.2, 0.4],
    )
    assert [r["threshold"] for r in rows] == [0.1, 0.2, 0.4]
    # 0.1: q2 and q4 abstain; 0.2: q1 joins; 0.4: q3 joins
    assert [r["abstention_recall"] for r in rows] == [0.5, 1.0, 1.0]
    assert [r["abstention_precision"] for r in rows] == [0.5, 2 / 3, 0.5]
    assert [r["false_abstention_rate"] for r in rows] == [0.5, 0.5, 1.0]


def test_percentile_interpolates_and_handles_empty() -> None:
    assert m.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert m.percentile([], 0.5) is None


def test_squad_normalisation_drops_case_punctuation_and_articles() -> None:
    assert m.squad_normalise("The GPU, an  accelerator!") == "gpu accelerator"


def test_token_f1_on_a_worked_example() -> None:
    # answer tokens: mig splits card into seven parts (6); reference: mig makes seven
    # partitions of card (6); shared: mig, card, seven -> P = R = 3/6, F1 = 0.5.
    answer = "MIG splits the card into seven parts [1]."
    assert m.token_f1(answer, "MIG makes seven partitions of a card.") == pytest.approx(0.5)
    assert m.token_f1("Seven.", "seven") == 1.0
    assert m.token_f1("nothing shared", "seven") == 0.0


def test_token_f1_of_an_empty_answer_is_zero_and_of_two_empty_texts_one() -> None:
    assert m.token_f1("", "seven partitions") == 0.0
    assert m.token_f1("[1]", "") == 1.0  # SQuAD's convention for two empty answers


def test_answer_claims_keep_the_markers_of_each_sentence() -> None:
    claims = m.answer_claims(
        "MIG cuts a card into seven parts. [1] MPS shares memory [2]. Yes! [1][2]"
    )
    assert [(c.text, c.cited) for c in claims] == [
        ("MIG cuts a card into seven parts.", [1]),
        ("MPS shares memory.", [2]),
        ("Yes!", [1, 2]),
    ]


def test_answer_claims_split_unpunctuated_list_items_at_their_markers() -> None:
    claims = m.answer_claims("- Containers [1]\n- Service meshes [2] According to [1] it is.")
    assert [(c.text, c.cited) for c in claims] == [
        ("Containers", [1]),
        ("Service meshes", [2]),
        ("According to it is.", [1]),
    ]


def test_an_empty_answer_has_no_claims() -> None:
    assert m.answer_claims("") == []
    assert m.answer_claims(" [1] ") == []


HIGH, LOW = SUPPORTED + 0.1, SUPPORTED - 0.1


def test_faithfulness_is_the_share_of_sentences_some_passage_supports() -> None:
    support = np.array([[HIGH, LOW], [LOW, LOW], [LOW, SUPPORTED]])
    assert m.faithfulness(support) == pytest.approx(2 / 3)


def test_faithfulness_edge_cases() -> None:
    assert m.faithfulness(np.zeros((0, 3))) is None  # no sentence: does not apply
    assert m.faithfulness(np.zeros((2, 0))) == 0.0  # sentences but no passage at all


def test_citation_precision_counts_only_cited_sentences() -> None:
    support = np.array([[HIGH, LOW], [LOW, HIGH], [HIGH, HIGH], [LOW, LOW]])
    # s0 cites col 0 (supported), s1 cites col 0 (not), s2 cites nothing (skipped),
    # s3 cites a citation that does not exist and col 1 (neither supports).
    cited: list[list[int | None]] = [[0], [0], [], [None, 1]]
    assert m.citation_precision(cited, support) == pytest.approx(1 / 3)


def test_citation_precision_accepts_any_cited_passage_that_supports() -> None:
    support = np.array([[LOW, HIGH]])
    assert m.citation_precision([[0, 1]], support) == 1.0
    assert m.citation_precision([[None]], support) == 0.0


def test_citation_precision_does_not_apply_without_citations() -> None:
    assert m.citation_precision([[], []], np.ones((2, 1))) is None
    assert m.citation_precision([], np.zeros((0, 1))) is None


def test_abstention_sweep_declines_at_or_above_each_threshold_and_always_below_the_floor() -> None:
    probabilities = [0.9, 0.6, 0.2, None, 0.7]
    floors = [False, False, False, True, False]
    answerable = [False, True, True, False, False]
    rows = m.abstention_sweep(probabilities, floors, answerable, (0.5, 0.8))
    # 0.5: q1, q2, q5 and the floor's q4 decline; q2 was answerable
    assert rows[0]["abstention_precision"] == 0.75 and rows[0]["abstention_recall"] == 1.0
    # 0.8: q1 and q4 only
    assert rows[1]["abstention_precision"] == 1.0
    assert rows[1]["abstention_recall"] == pytest.approx(2 / 3)
    assert rows[1]["false_abstention_rate"] == 0.0


def test_reliability_bins_predicted_against_observed_unanswerable_share() -> None:
    rows = m.reliability([0.1, 0.15, 0.9, 0.95, None], [True, True, False, True, False], bins=2)
    assert [r["n"] for r in rows] == [2, 2]  # the question the model never saw is left out
    assert rows[0]["observed"] == 0.0 and rows[1]["observed"] == 0.5
    assert rows[1]["predicted"] == pytest.approx(0.925)
