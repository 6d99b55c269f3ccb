"""Readers' feedback on answers, kept in one SQLite file so it can feed the evaluation."""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from service.schemas import FeedbackItem, FeedbackRequest, Rating

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, index_version TEXT,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')), question TEXT NOT NULL,
    answer TEXT NOT NULL, comment TEXT NOT NULL, body TEXT NOT NULL
);
"""


class FeedbackStore:
    """Append-only; the file and its folder are created on the first write, not at start-up."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()  # one writer at a time; SQLite would serialise anyway

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.executescript(_SCHEMA)
        return db

    def add(self, item: FeedbackRequest, index_version: str | None) -> FeedbackItem:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        body = item.model_dump_json()
        with self._lock, closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO feedback (created_at, index_version, rating, question, answer, "
                "comment, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (created, index_version, item.rating, item.question, item.answer, item.comment,
                 body),
            )  # fmt: skip
            row_id = int(cursor.lastrowid or 0)
        return FeedbackItem(
            **item.model_dump(), id=row_id, created_at=created, index_version=index_version
        )

    def items(self, rating: Rating | None = None) -> list[FeedbackItem]:
        if not self.path.is_file():
            return []
        query = "SELECT id, created_at, index_version, body FROM feedback"
        args: tuple[str, ...] = ()
        if rating:
            query, args = query + " WHERE rating = ?", (rating,)
        with closing(self._connect()) as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [
            FeedbackItem(**json.loads(body), id=i, created_at=created, index_version=version)
            for i, created, version, body in rows
        ]
