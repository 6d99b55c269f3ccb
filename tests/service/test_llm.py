"""The generative backends: the real SmolLM2 on CPU, and the OpenAI client's failures."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from service.llm import (
    GenerationStats,
    LLMNotConfigured,
    LLMUnavailable,
    LocalLLM,
    OpenAILLM,
    resolve_local_model,
)
from tests.service.conftest import ROOT

PROMPT = [HumanMessage("List the planets of the solar system, one sentence about each.")]


def test_the_converted_weights_are_cached_as_safetensors(local_llm: LocalLLM) -> None:
    folder = local_llm._converted()  # found, not converted again
    assert folder.parent == ROOT / "var" / "models"
    names = {p.name for p in folder.iterdir()}
    assert "model.safetensors" in names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names)


def test_a_generation_streams_text_and_counts_its_tokens(local_llm: LocalLLM) -> None:
    stats = GenerationStats()
    text = "".join(local_llm.stream(PROMPT, max_tokens=12, stats=stats))
    assert text.strip()
    assert stats.new_tokens == 12
    assert stats.first_token_s is not None and stats.first_token_s < stats.total_s
    assert stats.tokens_per_s > 0
    assert not stats.cancelled


def test_setting_cancel_stops_the_generation(local_llm: LocalLLM) -> None:
    cancel = threading.Event()
    stats = GenerationStats()
    pieces = []
    for piece in local_llm.stream(PROMPT, max_tokens=200, cancel=cancel, stats=stats):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()
    local_llm.idle()
    assert stats.cancelled
    assert stats.new_tokens < 12


def test_a_reader_that_stops_reading_stops_the_generation(local_llm: LocalLLM) -> None:
    stats = GenerationStats()
    stream = local_llm.stream(PROMPT, max_tokens=200, stats=stats)
    next(stream)
    stream.close()
    local_llm.idle()
    assert stats.cancelled and stats.new_tokens < 12


def test_concurrent_generations_wait_their_turn(local_llm: LocalLLM) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            results.append("".join(local_llm.stream(PROMPT, max_tokens=6)))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert len(results) == 3 and all(r.strip() for r in results)
    # Greedy decoding: the same prompt gives the same text, whatever the interleaving.
    assert len(set(results)) == 1


def test_a_missing_local_model_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(LLMUnavailable, match="CNAI_LOCAL_MODEL"):
        resolve_local_model(str(tmp_path / "nope.gguf"))


def test_openai_without_settings_says_which_to_set() -> None:
    with pytest.raises(LLMNotConfigured, match="CNAI_OPENAI_BASE_URL"):
        OpenAILLM("", "")


def test_an_unreachable_openai_server_is_reported_with_its_address() -> None:
    llm = OpenAILLM("http://127.0.0.1:9/v1", "some-model", timeout=5)
    with pytest.raises(LLMUnavailable, match=r"127\.0\.0\.1:9"):
        list(llm.stream(PROMPT, max_tokens=5))
