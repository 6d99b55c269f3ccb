"""Question sets: one JSON object per line, validated with line numbers in every error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from ingest.errors import BadInput

QuestionType = Literal["definition", "list", "howwhy", "factoid", "multihop", "unanswerable"]
Split = Literal["tune", "test"]
SPLITS = ("tune", "test", "all")
TEST_SHARE = 3  # one question in three is held out for testing (about 2:1 tune:test)


def split_of(question_id: str) -> Split:
    """The locked split of a question: a stable hash of its id, never of its text or order.

    SHA-256 does not change between runs or Python versions (``hash()`` is salted per process),
    so a question keeps its split however the file is edited or reordered.
    """
    digest = hashlib.sha256(question_id.encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:8], "big") % TEST_SHARE == 0 else "tune"


class Gold(BaseModel):
    source: str = Field(description="Document path, matched as a suffix of the index's doc ids.")
    evidence: list[str] = Field(min_length=1, description="Verbatim phrases of the passage.")


class Question(BaseModel):
    id: str
    question: str = Field(min_length=1)
    type: QuestionType
    answerable: bool
    section: str = ""
    gold: list[Gold] = Field(default_factory=list)
    reference_answer: str = ""
    key_facts: list[str] = Field(default_factory=list)
    split: Split | None = Field(
        default=None, description="tune or test; recorded by split_of(id), computed when absent."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        expected = split_of(self.id)
        if self.split is None:
            self.split = expected
        elif self.split != expected:
            raise ValueError(f"split must be {expected!r} for id {self.id!r} (the locked hash)")
        if self.answerable and not self.gold:
            raise ValueError("an answerable question needs at least one gold passage")
        if self.answerable == (self.type == "unanswerable"):
            raise ValueError("type 'unanswerable' goes with answerable=false, and only it")
        return self

    @property
    def needs_all_gold(self) -> bool:
        """Multi-hop gold passages are all needed; otherwise they are alternatives."""
        return self.type == "multihop"


def select_split(questions: list[Question], split: str) -> list[Question]:
    """The questions of ``split`` (tune, test or all); a split with none is an error."""
    if split not in SPLITS:
        raise BadInput(f"unknown split {split!r}: use {', '.join(SPLITS)}")
    chosen = [q for q in questions if split == "all" or q.split == split]
    if not chosen:
        raise BadInput(f"no question of the question set is in the {split!r} split")
    return chosen


def load_questions(path: Path, split: str = "all") -> list[Question]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read question set {path}: {exc}") from exc
    questions: list[Question] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            first = exc.errors()[0] if isinstance(exc, ValidationError) else None
            why = f"{'.'.join(map(str, first['loc']))}: {first['msg']}" if first else str(exc)
            raise BadInput(f"{path}:{n}: invalid question ({why})") from None
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise BadInput(f"{path}: question ids must be unique")
    if not questions:
        raise BadInput(f"{path}: no questions")
    return select_split(questions, split)
