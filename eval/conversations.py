"""Follow-up questions: run multi-turn conversations and score every turn after the first.

Each conversation is asked turn by turn, the system's own answers going into the history as a
user's chat would send them. Every follow-up is also asked two other ways in the same run, so
the gain of the conversation is measured beside its baselines:

- ``history``: the follow-up with the conversation so far (what ``/v1/ask`` does with history);
- ``alone``: the follow-up with no history;
- ``joined``: the previous user question and the follow-up joined into one query, no history.

A follow-up scores ``hit@5`` when a retrieved passage holds its gold evidence, ``cited`` when
a citation does, and, when it is unanswerable, ``abstained``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from eval import metrics as m
from eval.dataset import SPLITS, Gold, QuestionType, Split, split_of
from ingest.errors import BadInput
from ingest.progress import Progress
from service.conversation import Turn
from service.engine import Engine

STRATEGIES = ("history", "alone", "joined")


class ConversationTurn(BaseModel):
    question: str = Field(min_length=1)
    type: QuestionType
    answerable: bool
    gold: list[Gold] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ConversationTurn:
        if self.answerable and not self.gold:
            raise ValueError("an answerable turn needs at least one gold passage")
        if self.answerable == (self.type == "unanswerable"):
            raise ValueError("type 'unanswerable' goes with answerable=false, and only it")
        return self


class Conversation(BaseModel):
    id: str
    turns: list[ConversationTurn] = Field(min_length=2, max_length=4)
    split: Split | None = None

    @model_validator(mode="after")
    def _locked_split(self) -> Conversation:
        expected = split_of(self.id)
        if self.split is None:
            self.split = expected
        elif self.split != expected:
            raise ValueError(f"split must be {expected!r} for id {self.id!r} (the locked hash)")
        return self


def load_conversations(path: Path, split: str = "all") -> list[Conversation]:
    """The conversations of ``split``; every error names the line."""
    if split not in SPLITS:
        raise BadInput(f"unknown split {split!r}: use {', '.join(SPLITS)}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read conversation set {path}: {exc}") from exc
    found: list[Conversation] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(Conversation.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            first = exc.errors()[0] if isinstance(exc, ValidationError) else None
            why = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else str(exc)
            raise BadInput(f"{path}:{n}: invalid conversation ({why})") from None
    if len({c.id for c in found}) != len(found):
        raise BadInput(f"{path}: conversation ids must be unique")
    chosen = [c for c in found if split == "all" or c.split == split]
    if not chosen:
        raise BadInput(f"{path}: no conversation in the {split!r} split")
    return chosen


@dataclass
class FollowUp:
    conversation: str
    turn: int  # 1 for the first follow-up
    split: str
    question: str
    answerable: bool
    scores: dict[str, dict[str, float]]  # strategy -> metric -> 0 or 1
    queries: dict[str, list[str]]  # strategy -> what was searched


@dataclass
class ConversationReport:
    dataset: str
    k: int
    split: str
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> strategy -> ...
    followups: list[FollowUp] = field(default_factory=list)


def _score(engine: Engine, turn: ConversationTurn, query: str, history: list[Turn], k: int):
    hits, answer, _ = engine.run(query, k, history=history or None)
    scores: dict[str, float] = {}
    if turn.answerable:
        retrieved = [(h.chunk.doc_path, f"{h.chunk.section}\n{h.chunk.text}") for h in hits]
        cited = [(h.chunk.doc_path, f"{h.chunk.section}\n{h.chunk.text}") for h in answer.citations]
        scores["hit@5"] = m.hit_at(m.gold_ranks(retrieved, turn.gold), 5)
        scores["cited"] = float(m.first_relevant(m.gold_ranks(cited, turn.gold)) is not None)
    else:
        scores["abstained"] = float(answer.abstained)
    searched = answer.retrieval_queries or [answer.retrieval_query or query]
    return answer, scores, list(searched)


def run_conversations(
    path: Path, engine: Engine, k: int = 5, split: str = "all", progress: bool = True
) -> ConversationReport:
    conversations = load_conversations(path, split)
    total = sum(len(c.turns) - 1 for c in conversations)
    report = ConversationReport(dataset=str(path), k=k, split=split)
    with Progress("Follow-ups", total, unit="follow-ups", enabled=progress) as bar:
        for conv in conversations:
            history: list[Turn] = []
            previous = ""
            for n, turn in enumerate(conv.turns):
                if n == 0:
                    answer = engine.run(turn.question, k)[1]
                else:
                    scores: dict[str, dict[str, float]] = {}
                    queries: dict[str, list[str]] = {}
                    answer, scores["history"], queries["history"] = _score(
                        engine, turn, turn.question, history, k
                    )
                    _, scores["alone"], queries["alone"] = _score(
                        engine, turn, turn.question, [], k
                    )
                    joined = f"{previous} {turn.question}"
                    _, scores["joined"], queries["joined"] = _score(engine, turn, joined, [], k)
                    report.followups.append(
                        FollowUp(
                            conv.id,
                            n,
                            conv.split or "",
                            turn.question,
                            turn.answerable,
                            scores,
                            queries,
                        )  # fmt: skip
                    )
                    bar.advance(1)
                history += [("user", turn.question), ("assistant", answer.text)]
                previous = turn.question
    report.summary = summarise(report.followups)
    return report


def summarise(followups: list[FollowUp]) -> dict[str, dict[str, Any]]:
    """Per split (and ``all``), per strategy: the mean of each metric and how many it covers."""
    out: dict[str, dict[str, Any]] = {}
    present = {f.split for f in followups}
    for split in ("tune", "test", "all"):
        chosen = [f for f in followups if split == "all" or f.split == split]
        if not chosen or (split == "all" and len(present) == 1):
            continue  # "all" repeats the one split evaluated
        out[split] = {}
        for strategy in STRATEGIES:
            values: dict[str, list[float]] = {}
            for f in chosen:
                for metric, value in f.scores[strategy].items():
                    values.setdefault(metric, []).append(value)
            row: dict[str, Any] = {name: round(sum(v) / len(v), 3) for name, v in values.items()}
            row["followups"] = len(chosen)
            out[split][strategy] = row
    return out


def markdown(report: ConversationReport) -> str:
    lines = [f"# Follow-ups: {report.dataset} (split {report.split}, k={report.k})", ""]
    for split, strategies in report.summary.items():
        n = next(iter(strategies.values()))["followups"]
        lines += [
            f"## {split} ({n} follow-ups)",
            "",
            "| strategy | hit@5 | cited | abstained (unanswerable) |",
            "|---|---|---|---|",
        ]
        for name, row in strategies.items():
            cells = [row.get(metric) for metric in ("hit@5", "cited", "abstained")]
            shown = ["-" if v is None else f"{v:.3f}" for v in cells]
            lines.append(f"| {name} | " + " | ".join(shown) + " |")
        lines.append("")
    missed = [f for f in report.followups if f.scores["history"].get("hit@5") == 0.0]
    if missed:
        lines += ["## Follow-ups whose passage was not found with history", ""]
        lines += [f"- {f.conversation} turn {f.turn}: {f.question}" for f in missed]
    return "\n".join(lines) + "\n"


def write(report: ConversationReport, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "conversations.json").write_text(json.dumps(asdict(report), indent=2))
    (out_dir / "conversations.md").write_text(markdown(report))
