"""Reading Server-Sent Events and checking citations in the tests."""

from __future__ import annotations

import json
import re
from typing import Any

from service.answering.support import SUPPORTED


def parse(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of an SSE body; data is decoded JSON."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            out.append((fields.get("event", "message"), json.loads(fields["data"])))
    return out


def assert_valid_citations(body: dict[str, Any]) -> None:
    """Every marker names a returned citation, every citation is used, every sentence holds."""
    ids = [c["id"] for c in body["citations"]]
    assert ids == list(range(1, len(ids) + 1))
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers == set(ids)
    if body["abstained"]:
        assert not ids and not body["sentences"]
        return
    assert body["sentences"]
    for sentence in body["sentences"]:
        assert sentence["text"] in body["answer"]
        assert set(sentence["citations"]) <= set(ids)
        assert sentence["support"] >= SUPPORTED
