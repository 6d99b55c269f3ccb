"""The ingestion benchmark times real ingestion beside bare encode, in the shared row format."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.bench.ingestion import WINDOW_TOKENS, markdown, run, windows
from ingest.embed import Embedder

KEYS = {
    "section",
    "figure",
    "value",
    "unit",
    "baseline",
    "baseline_value",
    "ratio",
    "target",
    "met",
}


def test_windows_cover_the_text_in_pieces_of_at_most_the_window_size(embedder: Embedder):
    text = " ".join(f"word{i} and more" for i in range(300))
    pieces = windows(embedder, [text, "short text"], size=100)
    assert pieces[-1] == "short text"
    assert all(embedder.count_tokens(p) <= 100 for p in pieces)
    # a cut inside a word re-tokenises its halves, so the count may move by a token per cut
    total = sum(embedder.count_tokens(p) for p in pieces[:-1])
    assert abs(total - embedder.count_tokens(text)) <= len(pieces)
    assert pieces[0] == text[: len(pieces[0])] and pieces[-2].endswith("more")
    assert len(pieces) == 1 + -(-embedder.count_tokens(text) // 100)
    assert WINDOW_TOKENS == 250


def test_run_reports_throughput_and_both_reruns_against_their_baselines(
    tiny_corpus: Path, embedder: Embedder, tmp_path: Path
):
    rows = run([tiny_corpus], tmp_path / "work", threads=1, before=True, embedder=embedder)
    assert [r["figure"].split(" (")[0] for r in rows] == [
        "ingestion throughput",
        "unchanged re-run",
        "re-run after one file changed",
        "ingestion throughput, sentences embedded again",
    ]
    for r in rows:
        assert set(r) == KEYS and r["section"] == "ingestion"
        assert r["value"] > 0 and r["baseline_value"] > 0
    throughput, unchanged, changed, before = rows
    assert throughput["ratio"] == pytest.approx(
        throughput["value"] / throughput["baseline_value"], rel=0.01
    )
    assert throughput["met"] == (throughput["ratio"] >= 0.85)
    assert unchanged["ratio"] < 1 and unchanged["target"] == "<= 0.05"
    assert "chunks embedded" in changed["figure"] and changed["met"] is None
    assert before["baseline_value"] == throughput["baseline_value"]
    # the original corpus is untouched: only the copy under work was edited
    assert "Benchmark note" not in "".join(p.read_text() for p in tiny_corpus.glob("*.md"))
    assert markdown(rows).count("\n") == 2 + len(rows)


def test_run_refuses_a_missing_corpus_folder(embedder: Embedder, tmp_path: Path):
    with pytest.raises(ValueError, match="is not a folder"):
        run([tmp_path / "nowhere"], tmp_path / "work", embedder=embedder)
