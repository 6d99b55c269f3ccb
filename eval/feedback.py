"""Turn readers' thumbs-down feedback into candidate dev questions for a person to review.

A candidate has the shape of a line of ``cnai_dev.jsonl`` with its gold passages, reference
answer and key facts left empty, so ``load_questions`` refuses it until someone fills them in;
everything the reviewer needs (the answer given, the comment, the passages cited) is under
``review``, which the question set's loader ignores.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.dataset import split_of
from ingest.errors import BadInput
from service.schemas import FeedbackItem

REVIEW_TODO = (
    "Check the question is about the indexed documents; set type, answerable, gold "
    "(source + verbatim evidence), reference_answer and key_facts; then drop `review`."
)
CANDIDATES_FILE = "candidates.jsonl"


def load_feedback(path: Path) -> list[FeedbackItem]:
    """Items of a ``GET /v1/feedback/export`` body, or of a JSONL file with one item a line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read feedback file {path}: {exc}") from exc
    try:
        body = json.loads(text)
        raw: list[Any] = body["items"] if isinstance(body, dict) else body
        where = [f"item {i + 1}" for i in range(len(raw))]
    except (ValueError, KeyError, TypeError):
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        try:
            raw = [json.loads(line) for _, line in lines]
        except ValueError as exc:
            raise BadInput(
                f"{path}: not the JSON of GET /v1/feedback/export nor JSONL of its items ({exc})"
            ) from None
        where = [f"line {n}" for n, _ in lines]
    if not isinstance(raw, list):
        raise BadInput(f"{path}: expected a list of feedback items under 'items'")
    items: list[FeedbackItem] = []
    for at, entry in zip(where, raw, strict=True):
        try:
            items.append(FeedbackItem.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise BadInput(
                f"{path}: {at}: invalid feedback item ({'.'.join(map(str, first['loc']))}: "
                f"{first['msg']})"
            ) from None
    return items


def candidate(item: FeedbackItem, comments: list[str]) -> dict[str, Any]:
    digest = hashlib.sha256(item.question.casefold().encode("utf-8")).hexdigest()[:10]
    qid = f"fb-{digest}"
    return {
        "id": qid,
        "question": item.question,
        "type": "unanswerable" if item.abstained else "factoid",
        "answerable": not item.abstained,
        "section": "",
        "gold": [],
        "reference_answer": "",
        "key_facts": [],
        "split": split_of(qid),
        "review": {
            "status": "needs_review",
            "todo": REVIEW_TODO,
            "feedback_ids": [],
            "comments": comments,
            "answer_given": item.answer,
            "abstained": item.abstained,
            "cited": [
                {"source": c.source.path, "section": c.source.section, "chunk_id": c.chunk_id}
                for c in item.citations
            ],
            "history": [t.model_dump() for t in item.history],
            "index_version": item.index_version,
            "created_at": item.created_at,
        },
    }


def candidates(items: list[FeedbackItem]) -> list[dict[str, Any]]:
    """One candidate per distinct thumbs-down question (case-insensitive), oldest first."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.rating != "down":
            continue
        key = " ".join(item.question.casefold().split())
        entry = out.setdefault(key, candidate(item, []))
        entry["review"]["feedback_ids"].append(item.id)
        if item.comment:
            entry["review"]["comments"].append(item.comment)
    return list(out.values())


def write_candidates(feedback: Path, out_dir: Path) -> tuple[Path, int, int]:
    """Write ``out_dir/candidates.jsonl``; returns its path, the candidates and the items read."""
    items = load_feedback(feedback)
    found = candidates(items)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / CANDIDATES_FILE
    target.write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in found), encoding="utf-8"
    )
    return target, len(found), len(items)
