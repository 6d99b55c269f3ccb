"""Follow-up questions rewritten into standalone queries, by rule and by a generative backend."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.conversation import depends_on_history, standalone
from tests.service.fakes import ScriptedLLM

HISTORY = [
    ("user", "What is Multi-Instance GPU?"),
    ("assistant", "MIG cuts a supported card into up to seven hardware partitions. [1]"),
]


@pytest.mark.parametrize(
    "question",
    ["and how does it scale?", "What are its limits?", "Why?", "What about MPS?",
     "How long does that take?"],
)  # fmt: skip
def test_a_question_that_leans_on_the_conversation_is_a_follow_up(question: str) -> None:
    assert depends_on_history(question)


@pytest.mark.parametrize(
    "question",
    ["How does time-slicing share a GPU?", "Is it possible to run vLLM on Kubernetes?",
     "How does a service that scales to zero handle cold starts?"],
)  # fmt: skip
def test_a_standalone_question_is_left_alone(question: str) -> None:
    assert not depends_on_history(question)
    assert standalone(question, HISTORY) == question


def test_a_pronoun_is_replaced_by_the_previous_topic() -> None:
    assert standalone("and how does it scale?", HISTORY) == "how does Multi-Instance GPU scale?"
    assert standalone("What are its limits?", HISTORY) == "What are Multi-Instance GPU's limits?"


def test_a_chain_of_follow_ups_keeps_the_first_topic() -> None:
    history = [*HISTORY, ("user", "and how does it isolate tenants?"), ("assistant", "...")]
    assert "Multi-Instance GPU" in standalone("Why does that matter?", history)


def test_without_an_earlier_question_nothing_is_rewritten() -> None:
    assert standalone("and how does it scale?", [("assistant", "Hello!")]) == (
        "and how does it scale?"
    )


def test_a_generative_rewrite_is_used_when_it_keeps_the_topic() -> None:
    llm = ScriptedLLM("How does Multi-Instance GPU scale across many pods?\nextra line")
    query = standalone("and how does it scale?", HISTORY, llm)
    assert query == "How does Multi-Instance GPU scale across many pods?"


def test_a_generative_rewrite_that_loses_the_topic_is_ignored() -> None:
    llm = ScriptedLLM("What is the weather like today?")
    assert standalone("and how does it scale?", HISTORY, llm) == (
        "how does Multi-Instance GPU scale?"
    )


def test_the_generative_backend_is_not_asked_about_a_standalone_question() -> None:
    llm = ScriptedLLM("anything")
    standalone("How does time-slicing share a GPU?", HISTORY, llm)
    assert llm.calls == 0


def test_ask_with_history_searches_with_the_conversation(client: TestClient) -> None:
    history = [
        {"role": "user", "content": "What does scaling to zero save?"},
        {"role": "assistant", "content": "Scaling to zero saves money. [1]"},
    ]
    body = client.post(
        "/v1/ask", json={"question": "and what does it cost the first request?", "history": history}
    ).json()
    assert body["retrieval_query"] == body["retrieval_queries"][0]
    assert "scaling to zero" in body["retrieval_query"].lower()
    assert "and what does it cost the first request?" in body["retrieval_queries"]
    assert body["abstained"] is False
    assert "cold start" in body["answer"]


def test_ask_without_history_searches_for_the_question_itself(client: TestClient) -> None:
    body = client.post("/v1/ask", json={"question": "What does MPS let processes do?"}).json()
    assert body["retrieval_query"] == "What does MPS let processes do?"
    assert body["retrieval_queries"] == ["What does MPS let processes do?"]
