"""Hybrid retrieval stages over real indexes built with the real embedder."""

from __future__ import annotations

from pathlib import Path

from ingest.embed import Embedder
from ingest.pipeline import ingest
from service.engine import Engine
from service.settings import ServiceSettings

COPY = (
    "Time slicing lets several pods take turns on one GPU. Each pod gets the whole device for "
    "a short slice of time, so memory is shared and there is no isolation between them."
)
OTHER = (
    "Multi-Instance GPU splits one device into isolated partitions, each with its own memory "
    "and compute, so one pod cannot slow down another."
)


def _index(tmp_path: Path, embedder: Embedder) -> Path:
    notes = tmp_path / "notes"
    notes.mkdir()
    # Two notes repeat one paragraph word for word; a third says something different.
    for name, body in [("a.md", COPY), ("b.md", COPY), ("c.md", OTHER)]:
        (notes / name).write_text(f"# GPU sharing\n\n{body}\n", encoding="utf-8")
    ingest([notes], tmp_path / "index", embedder, show_progress=False)
    return tmp_path / "index"


def test_diversity_keeps_a_near_copy_out_of_the_top_two(tmp_path: Path, embedder: Embedder) -> None:
    index = _index(tmp_path, embedder)
    question = "how can several pods share one GPU?"

    def top_two(diversity: float) -> list[str]:
        engine = Engine(ServiceSettings(index=index, diversity=diversity), embedder)
        return [h.chunk.doc_path for h in engine.retriever.search(question, 2)]

    assert sorted(top_two(0.0)) == ["notes/a.md", "notes/b.md"]
    plain = top_two(2.0)
    assert plain[0] in {"notes/a.md", "notes/b.md"} and plain[1] == "notes/c.md"
