"""The canonical public CNAI sources (``corpus/sources.yaml``) and downloading them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import yaml

from ingest.errors import BadInput, CnaiError

SOURCES_FILE = Path(__file__).resolve().parent.parent / "corpus" / "sources.yaml"
KINDS = {"whitepaper", "glossary", "blog", "news", "talk", "doc"}


class FetchFailed(CnaiError):
    """A public source could not be downloaded."""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    kind: str
    url: str
    licence: str = ""
    page: str = ""

    @property
    def filename(self) -> str:
        suffix = Path(urlparse(self.url).path).suffix or ".html"
        return f"{self.id}{suffix}"


def load_sources(path: Path = SOURCES_FILE) -> list[Source]:
    try:
        data = yaml.safe_load(path.read_text())
        sources = [Source(**entry) for entry in data["sources"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise BadInput(f"{path}: not a valid sources file ({exc})") from exc
    for s in sources:
        if s.kind not in KINDS or not s.url.startswith(("http://", "https://")):
            raise BadInput(
                f"{path}: source {s.id!r} needs a kind in {sorted(KINDS)} and an http(s) URL"
            )
    return sources


def fetch_sources(sources: list[Source], dest: Path, timeout: float = 20.0) -> list[Path]:
    """Download every source; the first failure stops the run with one line saying why."""
    dest.mkdir(parents=True, exist_ok=True)
    saved = []
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for s in sources:
            try:
                resp = client.get(s.url)
                resp.raise_for_status()
            except httpx.HTTPError as exc:
                raise FetchFailed(
                    f"cannot download {s.url} ({exc.__class__.__name__}: {exc}); this needs "
                    "internet access — offline, use the bundled knowledge base in corpus/kb"
                ) from None
            target = dest / s.filename
            target.write_bytes(resp.content)
            saved.append(target)
    return saved
