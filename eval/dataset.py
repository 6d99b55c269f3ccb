"""Question sets: one JSON object per line, validated with line numbers in every error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from ingest.errors import BadInput

QuestionType = Literal["definition", "list", "howwhy", "factoid", "multihop", "unanswerable"]


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

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.answerable and not self.gold:
            raise ValueError("an answerable question needs at least one gold passage")
        if self.answerable == (self.type == "unanswerable"):
            raise ValueError("type 'unanswerable' goes with answerable=false, and only it")
        return self

    @property
    def needs_all_gold(self) -> bool:
        """Multi-hop gold passages are all needed; otherwise they are alternatives."""
        return self.type == "multihop"


def load_questions(path: Path) -> list[Question]:
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
    return questions
