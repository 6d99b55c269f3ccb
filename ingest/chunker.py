"""Structure-aware chunking: split on headings, pack whole blocks up to a token budget.

We pack blocks ourselves because LangChain's size splitters treat fenced code and tables as plain
text and cut through them; LangChain's token splitter is still used for a single oversized block.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.documents import Segment, SourceDocument
from ingest.text import FENCE, HEADING

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

TokenCounter = Callable[[str], int]

SUBHEADING = "### "  # opens the heading of a small section packed into a chunk with others


@dataclass
class Chunk:
    chunk_id: str
    doc_path: str
    title: str
    kind: str
    url: str
    section: str  # heading path, "Challenges > Model Serving"
    text: str
    ordinal: int
    meta: dict[str, str | int] = field(default_factory=dict)

    def sentence_context(self, start: int, end: int) -> str:
        """A sentence as embedded: under its own heading, which often names what it is about."""
        heading = self.section.rsplit(" > ", 1)[-1]
        sentence = self.text[start:end]
        return f"{heading}: {sentence}" if heading else sentence

    @property
    def embed_text(self) -> str:
        """The text the embedder sees: the breadcrumb first, so headings count in retrieval."""
        crumb = _crumb(self.title, self.section)
        return f"{crumb}\n{self.text}" if crumb else self.text

    @property
    def headings(self) -> str:
        """The title, the heading path and the headings of small sections packed into the text."""
        lines = self.text.splitlines()
        inner = [line.removeprefix(SUBHEADING) for line in lines if line.startswith(SUBHEADING)]
        return " > ".join(p for p in (self.title, self.section, *inner) if p)


def split_sections(markdown: str) -> Iterator[tuple[list[str], str]]:
    """Yield (heading path, body) for each heading section, ignoring '#' inside code fences."""
    path: list[tuple[int, str]] = []
    body: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines():
        marker = FENCE.match(line)
        if marker:
            fence = None if fence == marker.group(1) else (fence or marker.group(1))
        heading = None if fence or marker else HEADING.match(line)
        if heading:
            yield [t for _, t in path], "\n".join(body)
            level = len(heading.group(1))
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, heading.group(2))]
            body = []
        else:
            body.append(line)
    yield [t for _, t in path], "\n".join(body)


def split_blocks(text: str) -> list[str]:
    """Blocks are paragraphs, list items, whole fenced code blocks and whole tables."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if any(line.strip() for line in current):
            blocks.append("\n".join(current).strip("\n"))
        current.clear()

    for line in text.splitlines():
        marker = FENCE.match(line)
        if fence:
            current.append(line)
            if marker and marker.group(1) == fence:
                fence = None
                flush()
            continue
        if marker:
            flush()
            fence = marker.group(1)
            current.append(line)
            continue
        is_table = line.lstrip().startswith("|")
        in_table = bool(current) and current[-1].lstrip().startswith("|")
        if not line.strip():
            flush()
        elif in_table != is_table or re.match(r"^\s*([-*+]|\d+[.)])\s", line):
            flush()
            current.append(line)
        else:
            current.append(line)
    flush()
    return blocks


class Chunker:
    def __init__(self, count_tokens: TokenCounter, chunk_tokens: int = 220) -> None:
        self.count = count_tokens
        self.limit = chunk_tokens

    def settings(self) -> dict[str, int | str]:
        return {"strategy": "headings+blocks+merge", "chunk_tokens": self.limit}

    def chunk(self, doc: SourceDocument) -> list[Chunk]:
        pieces: list[tuple[str, str, dict[str, str | int]]] = []
        if doc.format == "markdown":
            for seg in doc.segments:
                sections = [
                    (_drop_title(path, doc.title), body) for path, body in split_sections(seg.text)
                ]
                for path, text in self._merge_small(doc.title, sections):
                    pieces.append((" > ".join(path), text, dict(seg.meta)))
        else:
            pieces = self._pack_segments(doc.segments, doc.title)
        return [
            Chunk(
                chunk_id=_chunk_id(doc.path, i, text),
                doc_path=doc.path,
                title=doc.title,
                kind=doc.kind,
                url=doc.url,
                section=section,
                text=text,
                ordinal=i,
                meta=meta,
            )
            for i, (section, text, meta) in enumerate(pieces)
        ]

    def _merge_small(
        self, title: str, sections: list[tuple[list[str], str]]
    ) -> list[tuple[list[str], str]]:
        """Pack whole small sections that share a parent into one chunk, under their headings.

        Glossary entries, charter items and onboarding steps are a few lines each: alone they
        make chunks too thin to retrieve; together they carry their context.
        """
        out: list[tuple[list[str], str]] = []
        group: list[tuple[list[str], str]] = []

        def text_of(parts: list[tuple[list[str], str]], prefix: list[str]) -> str:
            lines = []
            for path, body in parts:
                below = path[len(prefix) :]
                lines.append((f"{SUBHEADING}{' > '.join(below)}\n" if below else "") + body.strip())
            return "\n\n".join(line for line in lines if line.strip())

        def flush() -> None:
            if group:
                prefix = _common_prefix([p for p, _ in group])
                out.append((prefix, text_of(group, prefix)))
                group.clear()

        for path, body in sections:
            if not body.strip():
                continue
            texts = self._pack(body, _crumb(title, " > ".join(path)))
            if len(texts) != 1:
                flush()
                out += [(path, t) for t in texts]
                continue
            if group:
                prefix = _common_prefix([p for p, _ in group] + [path])
                related = len(prefix) >= max(len(path), len(group[-1][0])) - 1
                merged = text_of(group + [(path, body)], prefix)
                budget = self._budget(_crumb(title, " > ".join(prefix)))
                if not related or self.count(merged) > budget:
                    flush()
            group.append((path, texts[0]))
        flush()
        return out

    def _budget(self, crumb: str) -> int:
        """Tokens left for the text once the breadcrumb that leads ``embed_text`` is counted."""
        return max(16, self.limit - self.count(crumb) - 2)

    def _pack(self, body: str, crumb: str) -> list[str]:
        budget = self._budget(crumb)
        out: list[str] = []
        current: list[str] = []
        used = 0
        for block in split_blocks(body):
            size = self.count(block)
            if size > budget:
                out += ["\n\n".join(current)] if current else []
                current, used = [], 0
                out += self._oversize(budget).split_text(block)
                continue
            if current and used + size > budget:
                out.append("\n\n".join(current))
                current, used = [], 0
            current.append(block)
            used += size
        if current:
            out.append("\n\n".join(current))
        return [t for t in out if t.strip()]

    def _oversize(self, budget: int) -> RecursiveCharacterTextSplitter:
        # Imported here: the API reads chunks but never splits text (issue 17's start-up).
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        return RecursiveCharacterTextSplitter(
            chunk_size=budget, chunk_overlap=min(32, budget // 8), length_function=self.count
        )

    def _pack_segments(
        self, segments: list[Segment], title: str
    ) -> list[tuple[str, str, dict[str, str | int]]]:
        """Pages and transcript cues: pack within a page, keep the first position of each chunk."""
        out: list[tuple[str, str, dict[str, str | int]]] = []
        group: list[Segment] = []
        for seg in segments + [Segment("", {"_end": 1})]:
            same_page = not group or group[0].meta.get("page") == seg.meta.get("page")
            joined = " ".join(s.text for s in group + [seg])
            if group and ("_end" in seg.meta or not same_page or self.count(joined) > self.limit):
                meta = dict(group[0].meta)
                if "end" in group[-1].meta:
                    meta["end"] = group[-1].meta["end"]
                section = f"page {meta['page']}" if "page" in meta else ""
                out += [
                    (section, t, meta)
                    for t in self._pack("\n\n".join(s.text for s in group), _crumb(title, section))
                ]
                group = []
            if "_end" not in seg.meta and seg.text.strip():
                group.append(seg)
        return out


def _crumb(title: str, section: str) -> str:
    return " > ".join(p for p in (title, section) if p)


def _common_prefix(paths: list[list[str]]) -> list[str]:
    prefix: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return prefix


def _drop_title(path: list[str], title: str) -> list[str]:
    """A leading H1 equal to the document title would repeat it in every breadcrumb."""
    return path[1:] if path and path[0].strip().lower() == title.strip().lower() else path


def _chunk_id(doc_path: str, ordinal: int, text: str) -> str:
    return hashlib.sha1(f"{doc_path}\0{ordinal}\0{text}".encode()).hexdigest()[:16]
