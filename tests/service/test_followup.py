"""Follow-up queries and their fusion, on synthetic conversations and rankings."""

from __future__ import annotations

from service.followup import ALONE_WEIGHT, fuse, queries

HISTORY = [
    ("user", "Which projects schedule batch jobs on Kubernetes?"),
    (
        "assistant",
        "The whitepaper names Volcano and Kueue for batch scheduling. [1] This helps. [2]",
    ),
]


def test_a_first_question_is_searched_alone() -> None:
    assert [(q.name, q.text, q.weight) for q in queries("What is KServe?", [])] == [
        ("alone", "What is KServe?", 1.0)
    ]


def test_a_follow_up_is_searched_with_its_context_first() -> None:
    found = queries("How mature are they?", HISTORY)
    assert [q.name for q in found] == ["context", "names", "alone"]
    assert found[0].text == "Which projects schedule batch jobs on Kubernetes? How mature are they?"


def test_names_come_from_the_last_answer_not_from_sentence_starts() -> None:
    names = queries("How mature are they?", HISTORY)[1].text.split()
    assert "Volcano" in names and "Kueue" in names
    assert "This" not in names and "The" not in names


def test_a_name_the_follow_up_already_has_is_not_repeated() -> None:
    text = queries("Is Volcano older?", HISTORY)[1].text
    assert text.count("Volcano") == 1


def test_only_the_last_two_questions_give_context() -> None:
    history = [("user", f"question {n}?") for n in range(4)]
    context = queries("and then?", history)[0].text
    assert context == "question 2? question 3? and then?"


def test_a_follow_up_that_leans_on_history_weighs_less_alone() -> None:
    leaning = queries("and how does it scale?", HISTORY)[-1]
    standalone = queries("Switching topics: what is KEDA good for in model serving?", HISTORY)[-1]
    assert leaning.weight == ALONE_WEIGHT < standalone.weight == 1.0


def test_fusion_prefers_what_several_queries_agree_on() -> None:
    # passage (2,) is second for both queries; (1,) is first for one only
    chosen = fuse([(1.0, [(1,), (2,)]), (1.0, [(3,), (2,)])], k=2)
    flat = [(1,), (2,), (3,), (2,)]
    assert flat[chosen[0]] == (2,)


def test_fusion_weights_count() -> None:
    chosen = fuse([(1.0, [(1,)]), (0.1, [(2,)])], k=1)
    assert chosen == [0]


def test_a_passage_overlapping_a_better_one_is_left_out() -> None:
    # (4, 5) merges rows found singly by the other query: it is one passage, not two
    chosen = fuse([(1.0, [(4, 5), (6,)]), (1.0, [(5,), (7,)])], k=3)
    flat = [(4, 5), (6,), (5,), (7,)]
    picked = [flat[i] for i in chosen]
    assert (4, 5) in picked and (5,) not in picked and len(picked) == 3
