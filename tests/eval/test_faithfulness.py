"""The evaluation's own faithfulness scorer: quotes of the cited passage pass, plants fail."""

from __future__ import annotations

import pytest

from eval.dataset import Question
from eval.faithfulness import FAITHFUL, faithfulness_matrix, names, numbers
from eval.gate import check_summary, load_thresholds
from eval.run import aggregate, score_question
from eval.runners import Passage, RunOutput
from ingest.embed import Embedder
from service.answering.support import SupportScorer

from .conftest import TINY_QUESTIONS

QUEUE = Passage(
    "q1",
    "notes/queues.md",
    "Queues",
    "A batch queue admits a training job once its whole quota of 8 GPUs is free. "
    "Jobs wait in priority order, and Volcano can preempt a lower-priority job.",
)
CACHE = Passage(
    "c1",
    "notes/caching.md",
    "Caching",
    "A model cache keeps downloaded weights on a shared volume. "
    "Pods mount it read-only, so a restart does not fetch the model again.",
)
QUESTION = Question.model_validate(TINY_QUESTIONS[0])


def backed(sentence: str, passage: Passage) -> float:
    return float(faithfulness_matrix([sentence], [passage.text])[0, 0])


def test_a_sentence_quoted_from_its_passage_is_fully_backed() -> None:
    assert backed("Jobs wait in priority order, and Volcano can preempt a job.", QUEUE) == 1.0


def test_a_changed_number_or_a_swapped_name_is_not_backed() -> None:
    assert backed("A batch queue admits a training job once 16 GPUs are free.", QUEUE) < FAITHFUL
    assert backed("Jobs wait in priority order, and Kueue can preempt a job.", QUEUE) < FAITHFUL


def test_words_found_out_of_order_count_for_less_than_in_order() -> None:
    in_order = backed("A model cache keeps downloaded weights on a shared volume.", CACHE)
    shuffled = backed("Volume shared weights downloaded keeps cache model.", CACHE)
    assert in_order == 1.0 and shuffled < FAITHFUL


def test_names_and_numbers_of_a_sentence() -> None:
    assert names("Volcano and KServe share 8 H100 GPUs with vLLM.") == {
        "kserve",
        "h100",
        "gpus",
        "vllm",
    }
    assert numbers("It took 1,500 steps and 2.5 hours in 2024.") == {"1500", "2.5", "2024"}


@pytest.fixture(scope="module")
def scorer(embedder: Embedder) -> SupportScorer:
    return SupportScorer(embedder)


def run(answer: str, cites: tuple[Passage, ...]) -> RunOutput:
    return RunOutput([QUEUE, CACHE], answer, False, list(cites))


def test_a_planted_unfaithful_answer_fails_the_gate(scorer: SupportScorer) -> None:
    good = score_question(QUESTION, run(f"{QUEUE.text.split('. ')[0]}. [1]", (QUEUE,)), scorer)
    planted = run(
        "A batch queue admits a training job once 2 GPUs are free. [1] "
        "Pods mount the cache read-write and fetch the model on every restart. [2]",
        (QUEUE, CACHE),
    )
    bad = score_question(QUESTION, planted, scorer)

    assert good.scores["faithfulness"] == 1.0
    assert bad.scores["faithfulness"] < 1.0
    thresholds = load_thresholds()
    failed = {f.metric for f in check_summary(aggregate([bad]), thresholds)}
    assert "faithfulness" in failed


def test_a_quote_cited_to_the_wrong_passage_is_neither_faithful_nor_precise(
    scorer: SupportScorer,
) -> None:
    quote = "A model cache keeps downloaded weights on a shared volume."
    right = score_question(QUESTION, run(f"{quote} [1]", (CACHE,)), scorer)
    wrong = score_question(QUESTION, run(f"{quote} [1]", (QUEUE,)), scorer)

    assert (right.scores["faithfulness"], right.scores["citation_precision"]) == (1.0, 1.0)
    assert (wrong.scores["faithfulness"], wrong.scores["citation_precision"]) == (0.0, 0.0)
    # The service's own support scorer agrees here, but it is not what the gate reads.
    assert wrong.scores["service_support"] < right.scores["service_support"]
