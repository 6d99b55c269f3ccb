"""Hybrid retrieval stages over real indexes built with the real embedder."""

from __future__ import annotations

from pathlib import Path

from ingest.chunker import Chunk
from ingest.embed import Embedder
from ingest.pipeline import ingest
from ingest.text import tokenize
from service.engine import Engine
from service.retrieval import HeadingMatch
from service.settings import ServiceSettings

COPY = (
    "Time slicing lets several pods take turns on one GPU. Each pod gets the whole device for "
    "a short slice of time, so memory is shared and there is no isolation between them."
)
OTHER = (
    "Multi-Instance GPU splits one device into isolated partitions, each with its own memory "
    "and compute, so one pod cannot slow down another."
)


def _notes_index(tmp_path: Path, embedder: Embedder, notes: dict[str, str], **sizes: int) -> Path:
    """An index of the Markdown files ``notes/<name>`` with the given texts."""
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in notes.items():
        (folder / name).write_text(text, encoding="utf-8")
    ingest([folder], tmp_path / "index", embedder, show_progress=False, **sizes)
    return tmp_path / "index"


def _index(tmp_path: Path, embedder: Embedder) -> Path:
    # Two notes repeat one paragraph word for word; a third says something different.
    bodies = {"a.md": COPY, "b.md": COPY, "c.md": OTHER}
    notes = {name: f"# GPU sharing\n\n{body}\n" for name, body in bodies.items()}
    return _notes_index(tmp_path, embedder, notes)


def test_diversity_keeps_a_near_copy_out_of_the_top_two(tmp_path: Path, embedder: Embedder) -> None:
    index = _index(tmp_path, embedder)
    question = "how can several pods share one GPU?"

    def top_two(diversity: float) -> list[str]:
        engine = Engine(ServiceSettings(index=index, diversity=diversity), embedder)
        return [h.chunk.doc_path for h in engine.retriever.search(question, 2)]

    assert sorted(top_two(0.0)) == ["notes/a.md", "notes/b.md"]
    plain = top_two(2.0)
    assert plain[0] in {"notes/a.md", "notes/b.md"} and plain[1] == "notes/c.md"


CHECKPOINTS = [
    "A training job on Kubernetes saves checkpoints of its model state to object storage.",
    "When the scheduler preempts a checkpointing pod, the job resumes from the last checkpoint.",
    "Checkpoint frequency trades the work lost on preemption against storage bandwidth.",
    "Frequent checkpoints of a large model can saturate the storage network for minutes.",
]


def _split_index(tmp_path: Path, embedder: Embedder) -> Path:
    """One section the chunker must cut in two, and an unrelated note."""
    body = "\n\n".join(CHECKPOINTS)
    notes = {
        "training.md": f"# Training\n\n## Checkpoints\n\n{body}\n",
        "serving.md": f"# Serving\n\n{OTHER}\n",
    }
    return _notes_index(tmp_path, embedder, notes, chunk_tokens=48)


def test_neighbouring_chunks_that_both_rank_come_back_as_one_passage(
    tmp_path: Path, embedder: Embedder
) -> None:
    index = _split_index(tmp_path, embedder)
    question = "how often should a training job checkpoint, and what happens on preemption?"

    def hits(merge: bool):  # type: ignore[no-untyped-def]
        engine = Engine(ServiceSettings(index=index, merge_neighbours=merge), embedder)
        return engine.retriever.search(question, 2)

    apart = hits(False)
    assert [h.chunk.doc_path for h in apart] == ["notes/training.md"] * 2  # the two halves
    joined = hits(True)
    top = joined[0]
    assert top.chunk.doc_path == "notes/training.md" and len(top.rows) == 2
    assert top.chunk.text == "\n\n".join(CHECKPOINTS)  # whole, in document order
    assert top.chunk.chunk_id == "+".join(
        h.chunk.chunk_id for h in sorted(apart, key=lambda h: h.chunk.ordinal)
    )
    assert joined[1].chunk.doc_path == "notes/serving.md"  # the freed place goes to another source


def test_an_answer_can_quote_either_half_of_a_joined_passage(
    tmp_path: Path, embedder: Embedder
) -> None:
    engine = Engine(ServiceSettings(index=_split_index(tmp_path, embedder)), embedder)

    hits, answer, _ = engine.run("what can frequent checkpoints of a large model saturate?", 2)

    assert len(hits[0].rows) == 2
    assert not answer.abstained
    assert "storage network" in answer.text and "[1]" in answer.text


def _headed(title: str, section: str, text: str = "Some text.") -> Chunk:
    return Chunk("id", "doc.md", title, "doc", "", section, text, 0)


def test_heading_match_weighs_a_rare_heading_word_above_a_common_one() -> None:
    match = HeadingMatch(
        [
            _headed("Kubeflow", "Install"),
            _headed("Kubeflow", "Upgrade"),
            _headed("Kubeflow", "Charter", "### Mission\nWhy we exist."),  # a packed heading
        ]
    )
    terms = tokenize(["what is the kubeflow mission?"])[0]
    install, _, charter = match.shares(terms, [0, 1, 2]).values()
    assert 0 < install < 0.5 < charter < 1  # "mission" is in one heading, "kubeflow" in all
    assert match.shares(tokenize(["gpu scheduling"])[0], [2])[2] == 0


def test_the_heading_weight_lifts_the_passage_whose_heading_names_the_question(
    tmp_path: Path, embedder: Embedder
) -> None:
    body = "We give teams shared practices for running AI workloads on Kubernetes."
    notes = {
        "charter.md": f"# Charter\n\n## Mission\n\n{body}\n",
        "faq.md": f"# FAQ\n\n## Meetings\n\n{body}\n",
    }
    index = _notes_index(tmp_path, embedder, notes)
    question = "what is the mission of the group?"

    def scores(weight: float) -> dict[str, float]:
        settings = ServiceSettings(index=index, heading_weight=weight)
        engine = Engine(settings, embedder)
        return {h.chunk.doc_path: h.score for h in engine.retriever.search(question, 2)}

    plain, weighted = scores(0.0), scores(1.0)
    assert weighted["notes/faq.md"] == plain["notes/faq.md"]  # no heading word asked about
    lift = weighted["notes/charter.md"] - plain["notes/charter.md"]
    assert 0.3 < lift <= 1.0  # "mission" carries most of the question's weight


def test_a_table_alone_ranks_below_the_sentence_that_answers(
    tmp_path: Path, embedder: Embedder
) -> None:
    table = "| GPU | Memory used |\n|---|---|\n| 0 | 39 GiB |\n| 1 | 12 GiB |"
    prose = "The nvidia-smi tool reports memory use for every GPU in the node."
    notes = {
        "status.md": f"# Serving\n\n## GPU memory status\n\n{table}\n",
        "monitoring.md": f"# Serving\n\n## Monitoring\n\n{prose}\n",
    }
    engine = Engine(ServiceSettings(index=_notes_index(tmp_path, embedder, notes)), embedder)
    # The table's heading is nearer the question (by about 0.1 without the margin); the
    # sentence is what answers it.
    hits = engine.retriever.search("where can I see GPU memory usage?", 2)
    assert [h.chunk.doc_path for h in hits] == ["notes/monitoring.md", "notes/status.md"]
