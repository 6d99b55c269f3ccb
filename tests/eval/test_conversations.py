"""The conversation dev set and the follow-up evaluation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval.conversations import load_conversations, markdown, run_conversations
from eval.dataset import split_of
from ingest.errors import BadInput
from service.engine import Engine
from tests.conftest import shared_corpus

DATASET = Path(__file__).resolve().parents[2] / "eval" / "datasets" / "conversations_dev.jsonl"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[*_`]", "", text.lower())).strip()


def test_the_dev_set_has_30_conversations_with_a_locked_split() -> None:
    conversations = load_conversations(DATASET)
    assert len(conversations) >= 30
    assert all(2 <= len(c.turns) <= 4 and c.split == split_of(c.id) for c in conversations)
    assert {c.split for c in conversations} == {"tune", "test"}
    follow_ups = [t for c in conversations for t in c.turns[1:]]
    assert any(not t.answerable for t in follow_ups)


def test_every_gold_phrase_is_in_its_document() -> None:
    folder = shared_corpus() / "cnai"
    if not folder.is_dir():
        pytest.skip(f"reference corpus not found at {folder}; set CNAI_SHARED_CORPUS")
    for conv in load_conversations(DATASET):
        for turn in conv.turns:
            for gold in turn.gold:
                text = _norm((folder / gold.source).read_text(encoding="utf-8"))
                for phrase in gold.evidence:
                    assert _norm(phrase) in text, (conv.id, gold.source, phrase)


def test_a_wrong_split_is_refused_with_its_line(tmp_path: Path) -> None:
    line = json.loads(DATASET.read_text().splitlines()[0])
    line["split"] = "test" if line["split"] == "tune" else "tune"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(line) + "\n")
    with pytest.raises(BadInput, match=r"bad.jsonl:1: .*split must be"):
        load_conversations(bad)


def test_a_run_scores_each_follow_up_three_ways(tmp_path: Path, engine: Engine) -> None:
    conversation = {
        "id": "t-scale-to-zero",
        "turns": [
            {"question": "What does scaling to zero save?", "type": "howwhy", "answerable": True,
             "gold": [{"source": "model-serving.md", "evidence": ["scaling to zero"]}]},
            {"question": "and what does it cost the first request?", "type": "howwhy",
             "answerable": True,
             "gold": [{"source": "model-serving.md", "evidence": ["cold start"]}]},
        ],
    }  # fmt: skip
    path = tmp_path / "conv.jsonl"
    path.write_text(json.dumps(conversation) + "\n")
    report = run_conversations(path, engine, progress=False)
    (follow_up,) = report.followups
    assert set(follow_up.scores) == {"history", "alone", "joined"}
    assert follow_up.queries["history"][0].startswith("What does scaling to zero save?")
    assert follow_up.scores["history"]["hit@5"] == 1.0
    assert "| history |" in markdown(report)


@pytest.mark.slow
def test_on_the_test_split_history_finds_more_than_the_follow_up_alone(
    cnai_index: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    from service.settings import ServiceSettings

    engine = Engine(ServiceSettings(index=cnai_index), embedder)
    summary = run_conversations(DATASET, engine, split="test", progress=False).summary["test"]
    assert summary["history"]["hit@5"] > summary["alone"]["hit@5"]
    assert summary["history"]["cited"] > summary["alone"]["cited"]
