"""POST /v1/chat/completions and GET /v1/models, driven by the official openai client."""

from __future__ import annotations

import re
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

QUESTION = "What does scaling to zero cost the first request?"


def chat_client(client: TestClient) -> OpenAI:
    return OpenAI(base_url=f"{client.base_url}/v1", api_key="unused", http_client=client)


def extra(obj: Any, name: str) -> Any:
    return (obj.model_extra or {}).get(name)


def assert_cited(content: str, sources: list[dict[str, Any]]) -> None:
    ids = [s["id"] for s in sources]
    assert ids == list(range(1, len(ids) + 1))
    assert {int(n) for n in re.findall(r"\[(\d+)\]", content)} == set(ids)


def test_a_completion_answers_from_the_knowledge_base_with_sources(client: TestClient) -> None:
    done = chat_client(client).chat.completions.create(
        model="cnai", messages=[{"role": "user", "content": QUESTION}]
    )
    content = done.choices[0].message.content or ""
    assert "cold start" in content
    assert done.choices[0].finish_reason == "stop"
    sources = extra(done, "sources")
    assert sources and sources[0]["source"]["path"] == "notes/model-serving.md"
    assert_cited(content, sources)


def test_a_streamed_completion_ends_with_the_sources(client: TestClient) -> None:
    api = chat_client(client)
    chunks = list(
        api.chat.completions.create(
            model="cnai-extractive", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    whole = api.chat.completions.create(
        model="cnai-extractive", messages=[{"role": "user", "content": QUESTION}]
    )
    assert content == whole.choices[0].message.content
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert extra(chunks[-1], "sources") == extra(whole, "sources")


def test_earlier_messages_are_the_conversation(client: TestClient) -> None:
    done = chat_client(client).chat.completions.create(
        model="cnai",
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "What does scaling to zero save?"},
            {"role": "assistant", "content": "Scaling to zero saves money. [1]"},
            {"role": "user", "content": "and what does it cost the first request?"},
        ],
    )
    assert "cold start" in (done.choices[0].message.content or "")


def test_the_local_model_answers_a_streamed_completion_with_valid_citations(
    local_client: TestClient,
) -> None:
    chunks = list(
        chat_client(local_client).chat.completions.create(
            model="cnai-local", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content.strip()
    assert_cited(content, extra(chunks[-1], "sources"))


def test_an_unknown_model_is_refused_with_the_names_it_accepts(client: TestClient) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        chat_client(client).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    assert "cnai-local" in str(caught.value)


def test_a_conversation_must_end_with_the_users_question(client: TestClient) -> None:
    resp = client.post(
        "/v1/chat/completions",
        json={"model": "cnai", "messages": [{"role": "assistant", "content": "Hi"}]},
    )
    assert resp.status_code == 422
    assert "last message" in resp.json()["error"]["message"]


def test_models_lists_one_name_per_backend(client: TestClient) -> None:
    ids = [m.id for m in chat_client(client).models.list()]
    assert ids == ["cnai", "cnai-extractive", "cnai-local", "cnai-openai"]
