"""Turn files on disk into SourceDocuments: Markdown/MDX, plain text, HTML, PDF and subtitles."""

from __future__ import annotations

import html
import io
import json
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from ingest.documents import Segment, SourceDocument
from ingest.errors import BadDocument
from ingest.text import RAW_FENCE

# Raise when a change to the loaders (or the sentence splitter) changes what is indexed for
# documents already indexed: an older index is then re-chunked and re-embedded in full.
TEXT_VERSION = 3

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".md", ".markdown", ".mdx", ".txt", ".html", ".htm", ".pdf", ".vtt", ".srt"}
)


def humanise(stem: str) -> str:
    """Turn a file stem into a readable title: "model-serving_notes" -> "Model serving notes"."""
    words = " ".join(re.split(r"[-_\s]+", stem)).strip()
    return words[:1].upper() + words[1:] if words else stem


def load_document(path: Path, rel_path: str) -> SourceDocument:
    """Load one file into a SourceDocument, or raise BadDocument saying what is wrong with it."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise BadDocument(f"{rel_path}: unsupported file type '{suffix}'; supported: {supported}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadDocument(f"{rel_path}: cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise BadDocument(f"{rel_path}: file is empty")
    return loader(data, path, rel_path)


# Signatures of binary formats, to name what a mislabelled file really is.
_MAGIC: dict[bytes, str] = {
    b"%PDF-": "a PDF",
    b"PK\x03\x04": "a ZIP archive (docx, xlsx, jar, ...)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x7fELF": "an executable",
    b"\x1f\x8b": "a gzip archive",
}


def _decode(data: bytes, rel_path: str) -> str:
    """Decode UTF-8 text (BOM allowed), rejecting binary, non-UTF-8 and blank content."""
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise BadDocument(
                f"{rel_path}: looks binary ({what}), not the text its name says; rename or "
                "convert it"
            )
    if b"\x00" in data:
        raise BadDocument(f"{rel_path}: looks binary (contains NUL bytes); expected UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadDocument(
            f"{rel_path}: not valid UTF-8 (bad byte at offset {exc.start}); re-save it as UTF-8"
        ) from exc
    if not text.strip():
        raise BadDocument(f"{rel_path}: file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- Markdown / MDX -------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A(---|\+\+\+)[ \t]*\n(.*?)^\1[ \t]*$\n?", re.S | re.M)
_KIND_FROM_TYPE = {"whitepapers": "whitepaper", "whitepaper": "whitepaper", "news": "news"}

# Removed before code spans are set aside: HTML/MDX comments, <script>/<style>, Hugo shortcodes
# (a shortcode alone in a code span takes its backticks along, or "``" would be left behind).
_NOISE = re.compile(
    r"<!--.*?-->|\{/\*.*?\*/\}|<(script|style)\b[^>]*>.*?</\1\s*>"
    r"|`\{\{[<%][^`]*?[%>]\}\}`|\{\{[<%].*?[%>]\}\}",
    re.S | re.I,
)
# Removed once code spans are set aside, since a code span like `[^a-z]` is no footnote marker.
_DROP = re.compile(
    r"^import\s.*?['\"][^'\"\n]+['\"];?[ \t]*$"  # MDX import
    r"|^export\s+(?:default|const|let|var|function|class)\b.*$"  # MDX export
    r"|^[ \t]*\[\^[^\]]+\]:.*\n?"  # footnote definition
    r"|^[ \t]{0,3}\[[^\]^]+\]:[ \t]+<?(?:https?://|[/.#])\S*.*\n?"  # link reference definition
    r"|\[\^[^\]\s]+\]|\[TOC\]"  # footnote marker, table-of-contents placeholder
    r"|!\[[^\]]*\](?:\((?:[^()\n]|\([^()\n]*\))*\)|\[[^\]]*\])",  # image
    re.M,
)
_INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)")
_ADMONITION = re.compile(r"^[ \t]*:{3,}[ \t]*[A-Za-z]*[ \t]*(?:\[(.*)\]|(.*))$", re.M)
_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\](?:\((?:[^()\n]|\([^()\n]*\))*\)|\[[^\]]*\])")
_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)

_INLINE_TAG = re.compile(
    r"a|abbr|b|button|code|del|em|font|i|img|ins|kbd|label|mark|s|small|span|strong|sub|sup|u", re.I
)
_BLOCK_TAG = re.compile(
    r"blockquote|br|center|d[dlt]|details|div|fig(?:caption|ure)|h[1-6r]|iframe|li|ol|p|picture"
    r"|pre|section|source|summary|table|tbody|t[dhr]|tfoot|thead|ul|video",
    re.I,
)
_TAG_START = re.compile(r"<(/?)([A-Za-z][\w.:-]*)")
_ATTR = re.compile(r"([\w-]+)=(?:\"([^\"]*)\"|'([^']*)')")
_COMPONENT = re.compile(r"[A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*")
_JSX_STRING = re.compile(r"\{(\"(?:[^\"\\\n]|\\.)*\"|'[^'\\\n]*')\}")


def _load_markdown(data: bytes, path: Path, rel_path: str) -> SourceDocument:
    meta, body = _split_front_matter(_decode(data, rel_path))
    body = clean_markdown(body)
    if not body.strip():
        raise BadDocument(f"{rel_path}: no text left after front matter and markup are removed")
    title = _as_str(meta.get("title")) or _first_heading(body) or humanise(path.stem)
    kind = _as_str(meta.get("kind")) or _KIND_FROM_TYPE.get(_as_str(meta.get("type")), "doc")
    return SourceDocument(
        path=rel_path, title=title, kind=kind, url=_url(meta), segments=[Segment(body)]
    )


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split off YAML (---) or Hugo TOML (+++) front matter; malformed front matter is ignored."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match[2]) if match[1] == "---" else tomllib.loads(match[2])
    except (yaml.YAMLError, tomllib.TOMLDecodeError):
        meta = None
    return (meta if isinstance(meta, dict) else {}), text[match.end() :]


def _as_str(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _url(meta: dict[str, Any]) -> str:
    # Site-relative URLs ("/whitepapers/x") cannot be opened by a reader; only absolute ones count.
    sources = meta.get("sources")
    candidates = [meta.get("url"), *(sources if isinstance(sources, list) else [])]
    for value in candidates:
        if isinstance(value, str) and re.match(r"https?://", value.strip()):
            return value.strip()
    return ""


def _blocks(text: str) -> Iterator[tuple[bool, str]]:
    """Yield (is_code, text) runs, so fenced code can be passed through byte for byte."""
    run: list[str] = []
    fence = ""
    for line in text.split("\n"):
        match = None if fence else RAW_FENCE.match(line)
        stripped = line.strip()
        # A backtick fence's info string cannot contain backticks; "```x```" is inline code.
        if match and not (match[1][0] == "`" and "`" in stripped[len(match[1]) :]):
            if run:
                yield False, "\n".join(run)
            run, fence = [line], match[1]
        elif fence and len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            yield True, "\n".join([*run, line])
            run, fence = [], ""
        else:
            run.append(line)
    if run:  # an unclosed fence runs to the end of the document, as in CommonMark
        yield bool(fence), "\n".join(run)


_FOOTNOTE = re.compile(r"^[ \t]*\[\^([^\]]+)\]:[ \t]*(.*)$", re.M)
_FOOTNOTE_MARK = re.compile(r"\[\^([^\]\s]+)\](?!:)")
_URL = re.compile(r"\(?<?https?://\S+")


def clean_markdown(text: str) -> str:
    """Remove Hugo/Docusaurus/MDX markup and link targets, leaving fenced code untouched."""
    blocks = list(_blocks(text))
    notes = {
        m[1]: m[2].strip().rstrip(".")
        for is_code, block in blocks
        if not is_code
        for m in _FOOTNOTE.finditer(block)
    }
    # A footnote that says something ("First release of Docker March 20, 2013.") is put in
    # brackets where it is cited, so the fact sits beside the sentence it explains; a bare link
    # has nothing to say and goes, with the marker.
    prose = {
        k: v for k, v in notes.items() if len(re.findall(r"[A-Za-z]{2,}", _URL.sub("", v))) >= 3
    }
    parts = [block if is_code else _clean_prose(block, prose) for is_code, block in blocks]
    return "\n".join(parts).strip("\n")


def _clean_prose(text: str, notes: dict[str, str] | None = None) -> str:
    text = _NOISE.sub("", text)
    # Code spans are set aside so tags and brackets inside them survive as written.
    spans: list[str] = []

    def _stash(match: re.Match[str]) -> str:
        spans.append(match[0])
        return f"\x00{len(spans) - 1}\x00"

    text = "\n".join(_INLINE_CODE.sub(_stash, line) for line in text.split("\n"))
    if notes:
        text = _FOOTNOTE_MARK.sub(lambda m: f" ({notes[m[1]]})" if m[1] in notes else "", text)
    text = _strip_tags(_DROP.sub("", text))
    text = _JSX_STRING.sub(_jsx_string, text)
    text = _ADMONITION.sub(lambda m: (m[1] or m[2] or "").strip(), text)
    text = html.unescape(_LINK.sub(r"\1", text)).replace("\xa0", " ")
    text = re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m[1])], text)
    text = re.sub(r"[ \t]+$", "", text, flags=re.M)
    return re.sub(r"\n{3,}", "\n\n", text)


def _jsx_string(match: re.Match[str]) -> str:
    try:  # JSX {"a\n"} strings are JSON strings; {'a'} ones hold no escapes in practice
        return str(json.loads(match[1])) if match[1][0] == '"' else match[1][1:-1]
    except ValueError:
        return match[1][1:-1]


def _strip_tags(text: str) -> str:
    """Drop HTML and JSX tags, keeping what is between them; ``<your-namespace>`` stays."""
    out: list[str] = []
    pos = 0
    for match in _TAG_START.finditer(text):
        if match.start() < pos:
            continue
        name = match[2]
        # All-caps names are placeholders (<MODEL_NAME>); one-letter ones are local MDX components.
        is_component = bool(_COMPONENT.fullmatch(name)) and (len(name) == 1 or not name.isupper())
        if not (is_component or _INLINE_TAG.fullmatch(name) or _BLOCK_TAG.fullmatch(name)):
            continue
        end = _tag_end(text, match.end())
        if end is None:
            continue
        chunk = text[pos : match.start()]
        head, newline, tail = chunk.rpartition("\n")
        # JSX indentation before a tag at the start of a line would read as an indented code block.
        if newline and not tail.strip():
            chunk = head + newline
        out += [chunk, _tag_replacement(text, match, end, is_component)]
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _tag_end(text: str, i: int) -> int | None:
    """Index just past the tag's ``>``, skipping quoted and ``{...}`` JSX attribute values."""
    depth, quote = 0, ""
    for j in range(i, min(len(text), i + 100_000)):
        char = text[j]
        if quote:
            # Backslash escapes exist only inside JSX {...} expressions, not in attribute strings.
            if char == quote and not (depth and text[j - 1] == "\\"):
                quote = ""
        elif char in "\"'`" and (depth or text[j - 1] == "="):
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif char == ">" and not depth:
            return j + 1
        elif char == "<" and not depth:
            return None
    return None


def _tag_replacement(text: str, match: re.Match[str], end: int, is_component: bool) -> str:
    tag, opening = text[match.start() : end], not match[1]
    attrs = {m[1]: m[2] if m[2] is not None else m[3] for m in _ATTR.finditer(tag)}
    if is_component and opening and "description" in attrs and "name" in attrs:
        # Generated API references (e.g. <ApiField name= type= description= />) keep all their
        # text in attributes; dropping the tag would drop the page.
        required = ", required" if attrs.get("required") == "true" else ""
        detail = re.sub(r"<[^>]+>", "", html.unescape(attrs["description"]))
        head = f"- {attrs['name']} ({attrs.get('type', '')}{required})"
        return f"\n{head}: {detail}\n" if detail else f"\n{head}\n"
    if is_component and opening and ("label" in attrs or "title" in attrs):
        return f"\n{attrs.get('label') or attrs['title']}\n"  # tab labels name what follows
    # Kubeflow's compatibility tables say yes/no with Font Awesome icons alone.
    if icon := re.search(r"\bfa-(check|xmark|times)\b", attrs.get("class", "")):
        return "yes" if icon[1] == "check" else "no"
    if _INLINE_TAG.fullmatch(match[2]) or (is_component and tag.endswith("/>")):
        return ""
    # Inside a Markdown table row a newline would break the row.
    line_start = text.rfind("\n", 0, match.start()) + 1
    return " " if text[line_start : match.start()].lstrip().startswith("|") else "\n"


def _first_heading(body: str) -> str:
    headings = (_HEADING.search(block) for code, block in _blocks(body) if not code)
    return next((m[1].strip() for m in headings if m), "")


# --- Plain text, HTML, PDF --------------------------------------------------------------------


def _load_text(data: bytes, path: Path, rel_path: str) -> SourceDocument:
    text = _decode(data, rel_path).strip()
    first_line = text.split("\n", 1)[0].strip()
    title = first_line if len(first_line) < 100 else humanise(path.stem)
    return SourceDocument(path=rel_path, title=title, format="text", segments=[Segment(text)])


_HTML_DROP = ["script", "style", "nav", "footer", "noscript", "template", "head"]
_HTML_BLOCK = re.compile(
    r"^(?:address|article|aside|blockquote|body|br|caption|d[dlt]|details|div|fig(?:caption|ure)"
    r"|form|header|hr|main|ol|p|section|summary|table|tbody|tfoot|thead|tr|ul)$"
)


def _load_html(data: bytes, path: Path, rel_path: str) -> SourceDocument:
    from bs4 import BeautifulSoup  # the parsers load with their format: the API never needs them

    soup = BeautifulSoup(_decode(data, rel_path), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if not title and (h1 := soup.find("h1")):
        title = h1.get_text(" ", strip=True)
    for tag in soup(_HTML_DROP):
        tag.decompose()
    # "\x01" marks the line breaks we mean; all other whitespace in HTML is layout.
    code: list[str] = []
    for pre in soup("pre"):
        code.append("```\n" + pre.get_text().strip("\n") + "\n```")
        pre.replace_with(f"\x01\x02{len(code) - 1}\x01")
    for heading in soup(re.compile(r"^h[1-6]$")):
        heading.insert(0, "\x01" + "#" * int(heading.name[1]) + " ")
    for tag in soup(re.compile(r"^h[1-6]$|^li$")) + soup(_HTML_BLOCK):
        tag.insert(0, "\x01- " if tag.name == "li" else "\x01")
        tag.append("\x01")
    for cell in soup(["td", "th"]):
        cell.append(" ")
    parts = [" ".join(part.split()) for part in soup.get_text().split("\x01")]
    text = "\n\n".join(code[int(p[1:])] if p[:1] == "\x02" else p for p in parts if p)
    text = re.sub(r"^-\n\n", "- ", text, flags=re.M)  # a list item whose text sits in a <p>
    if not text:
        raise BadDocument(f"{rel_path}: no text found in the HTML body")
    return SourceDocument(
        path=rel_path, title=title or humanise(path.stem), segments=[Segment(text)]
    )


def _load_pdf(data: bytes, path: Path, rel_path: str) -> SourceDocument:
    if b"%PDF-" not in data[:1024]:
        raise BadDocument(f"{rel_path}: not a PDF (no %PDF header); is it mislabelled?")
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = _as_str(reader.metadata.title) if reader.metadata else ""
    except Exception as exc:  # pypdf raises many unrelated types on malformed files
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BadDocument(f"{rel_path}: cannot parse PDF ({reason}); is it complete?") from exc
    segments = [Segment(t.strip(), {"page": n}) for n, t in enumerate(pages, 1) if t.strip()]
    if not segments:
        raise BadDocument(f"{rel_path}: PDF has no extractable text (scanned? run OCR first)")
    return SourceDocument(
        path=rel_path, title=meta_title or humanise(path.stem), format="text", segments=segments
    )


# --- Subtitles (WebVTT, SRT) ------------------------------------------------------------------

_TIME = r"(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}"
_TIMING = re.compile(rf"^\s*({_TIME})\s*-->\s*({_TIME})(?:\s.*)?$")
_CUE_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # <v Speaker>, <c.x>, <00:01.000>, {\an8}
_MIN_WORDS, _MAX_WORDS = 60, 90


def _normalise_time(value: str) -> str:
    clock, _, millis = value.replace(",", ".").partition(".")
    parts = [int(p) for p in clock.split(":")]
    hours, minutes, seconds = ([0] * (3 - len(parts)) + parts)[-3:]
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis.ljust(3, '0')}"


def _parse_cues(text: str) -> list[tuple[str, str, str]]:
    cues: list[tuple[str, str, str]] = []
    previous_line = ""
    for block in re.split(r"\n[ \t]*\n", text):
        lines = block.strip("\n").split("\n")
        # Header, NOTE, STYLE and REGION blocks never contain a timing line, so they fall out.
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        match = _TIMING.match(lines[timing]) if timing is not None else None
        if timing is None or match is None:
            continue
        words: list[str] = []
        for line in lines[timing + 1 :]:
            clean = " ".join(html.unescape(_CUE_MARKUP.sub("", line)).split())
            # Auto-generated captions repeat the previous cue's last line as a rolling window.
            if clean and clean != previous_line:
                words.append(clean)
                previous_line = clean
        if words:
            cues.append((_normalise_time(match[1]), _normalise_time(match[2]), " ".join(words)))
    return cues


def _load_subtitles(data: bytes, path: Path, rel_path: str) -> SourceDocument:
    cues = _parse_cues(_decode(data, rel_path))
    if not cues:
        raise BadDocument(f"{rel_path}: no subtitle cues found (expected 'start --> end' lines)")
    groups: list[list[tuple[str, str, str]]] = [[]]
    count = 0
    for cue in cues:
        size = len(cue[2].split())
        if groups[-1] and (count >= _MIN_WORDS or count + size > _MAX_WORDS):
            groups.append([])
            count = 0
        groups[-1].append(cue)
        count += size
    segments = [
        Segment(" ".join(c[2] for c in g), {"start": g[0][0], "end": g[-1][1]}) for g in groups
    ]
    return SourceDocument(
        path=rel_path, title=humanise(path.stem), kind="talk", format="text", segments=segments
    )


_LOADERS: dict[str, Callable[[bytes, Path, str], SourceDocument]] = {
    **dict.fromkeys([".md", ".markdown", ".mdx"], _load_markdown),
    **dict.fromkeys([".html", ".htm"], _load_html),
    **dict.fromkeys([".vtt", ".srt"], _load_subtitles),
    ".txt": _load_text,
    ".pdf": _load_pdf,
}
