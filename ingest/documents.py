"""What a loader produces: a document split into segments that keep their position."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Segment:
    """A run of text and its position, e.g. ``{"page": 3}`` or ``{"start": "00:01:02.000"}``."""

    text: str
    meta: dict[str, str | int] = field(default_factory=dict)


@dataclass
class SourceDocument:
    """One loaded file. ``markdown`` segments keep ``#`` headings for the chunker."""

    path: str
    title: str
    kind: str = "doc"
    url: str = ""
    format: str = "markdown"  # "markdown" (headings meaningful) or "text"
    segments: list[Segment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.segments)
