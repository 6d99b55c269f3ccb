"""Which figure a question asks for, and which sentences give one of that kind."""

from __future__ import annotations

import pytest

from service.answering.figures import asked_kind, gives, qualifiers


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much did a conference ticket cost?", "price"),
        ("what does the managed plan cost per month?", "price"),
        ("how much GPU memory would a 13B model take?", "size"),
        ("how long can a notebook stay idle before it is stopped?", "duration"),
        ("By what percentage did utilisation improve?", "share"),
        ("In what year did the project begin?", "date"),
        ("When was the project accepted into the foundation?", "date"),
        ("when would I want to scale to zero?", None),  # a condition, not a time
        ("Which Kubernetes release made the feature GA?", "version"),
        ("Who chairs the steering committee?", "name"),
        ("who is a platform engineer in the paper's terms?", None),  # a role, not a name
        ("Which city hosts the next conference?", "place"),
        ("how many replicas does the default use?", "count"),
        # a kind named inside a "why" clause is part of the reason asked for
        ("What is the scheduler, and why does it matter which version we deploy?", None),
        ("how does the autoscaler decide how many pods to run?", None),
        # "cost" in the sense of a price paid in latency asks for no figure
        ("What does scaling to zero cost the first request?", None),
        ("Why do GPUs cost so much?", None),
        # how much a thing changed: a share or a multiple answers, not only money
        ("How much did the platform cut yearly inference costs?", "change"),
        ("how much did caching reduce tail latency?", "change"),
        ("how much faster is the new runtime?", "change"),
        ("How much money did the team save per year?", "price"),
        ("How many dollars did the migration save each year?", "price"),
    ],
)
def test_the_kind_of_figure_a_question_asks_for(question: str, kind: str | None) -> None:
    found = asked_kind(question)
    assert (found.name if found else None) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("What is the ticket price?", "A ticket was $250 for the two days.", True),
        ("What is the ticket price?", "The event started in 2016 with two days of talks.", False),
        ("how long can it stay idle?", "Idle notebooks are culled after 1440 minutes.", True),
        ("how long can it stay idle?", "Culling stops idle notebooks to free resources.", False),
        ("how many documents were indexed?", "The tests indexed over 50K documents.", True),
        ("how many documents were indexed?", "The tests ran in 2024.", False),  # a year
        ("how many GPUs did the 2024 run use?", "It used eight GPUs.", True),
        # a figure the question already states does not answer it
        ("how many GPUs did the 8-node run use?", "The run had 8 nodes.", False),
        ("what year did it graduate?", "It graduated in 2023.", True),
        ("how much memory does it need?", "Give it at least 16 GiB of memory.", True),
        ("Which release made it GA?", "It became GA in v1.30.", True),
        ("Which release made it GA?", "It is GA in recent releases.", False),
        ("When was the project accepted?", "It was accepted on 12 March.", True),
        ("Who created the operator?", "The operator was created by Acme Labs.", True),
        ("Who created the operator?", "Lovelace Hopper started the operator.", True),
        # a capitalised topic word, or a name the question itself uses, is no answer
        ("Who created the Spark Operator?", "The Spark Operator runs Spark on Kubernetes.", False),
        ("Which city hosts the summit?", "The summit is held in Paris.", True),
        ("Which city hosts the summit?", "The summit is held online.", False),
        # capitalised by sentence position or a date, no full name
        ("Who hosted the meetup?", "As India's first meetup, it drew a crowd.", False),
        ("Who hosted the meetup?", "The meetup met in Pune May 11.", False),
        ("Who hosted the meetup?", "The Acme Robotics team hosted the meetup.", True),
        ("Who hosted the meetup?", "The meetup was hosted by Acme.", True),
        # numbers in links, dates, versions and issue numbers are no counts
        ("How many talks were submitted?", "Talks went in on August 21.", False),
        (
            "How many talks were submitted?",
            "See [the list](https://x.io/events/300323857/).",
            False,
        ),
        ("How many talks were submitted?", "PRs #3866 and #85 added them in v1.27.", False),
        ("How many talks were submitted?", "The group submitted three talks.", True),
        ("How much did it cut costs?", "It brought nearly a 50% reduction in costs.", True),
        ("How much did it cut latency?", "We saw a 2x reduction in latency.", True),
        ("how much faster is it?", "It reaches 10x-20x higher throughput.", True),
        ("How much did it cut costs?", "The cut came in 2023 after a migration.", False),
    ],
)
def test_a_sentence_gives_a_figure_of_the_kind_asked(
    question: str, sentence: str, expected: bool
) -> None:
    kind = asked_kind(question)
    assert kind is not None
    assert gives(kind, sentence, question) is expected


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("What is the latest release of the operator?", True),
        ("Which version is the current stable release?", True),
        ("When is the next release due?", True),
        # everyday time words ask for no particular release
        ("What does the working group do today?", False),
        ("Which scheduler does the paper currently recommend?", False),
        ("What is the next step after installing the operator?", False),
        ("Can I now run pipelines locally?", False),
    ],
)
def test_only_a_release_word_reads_as_the_latest_qualifier(question: str, asked: bool) -> None:
    assert ("latest" in [q.name for q in qualifiers(question)]) is asked


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Which release first shipped the operator?", True),
        ("Who originally created the operator?", True),
        # "first" inside a compound or "at first" asks for no first release
        ("How many first-time committers did the release have?", False),
        ("Does the runtime give first-class support to LoRA?", False),
    ],
)
def test_first_reads_as_a_qualifier_only_on_its_own(question: str, asked: bool) -> None:
    assert ("first" in [q.name for q in qualifiers(question)]) is asked


def test_a_name_of_only_topical_words_does_not_answer_when_topical_words_are_known() -> None:
    kind = asked_kind("Who hosted the meetup?")
    assert kind is not None
    sentence = "The meetup joined the Cloud Native programme."
    assert gives(kind, sentence, "Who hosted the meetup?")
    topical = {"cloud", "native"}.__contains__
    assert not gives(kind, sentence, "Who hosted the meetup?", topical)
