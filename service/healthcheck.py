"""Container health probe: exit 0 when a URL answers 200, else 1 (the image's HEALTHCHECK).

Standard library only, so the probe starts in milliseconds and never loads the engine.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request


def default_url() -> str:
    """/healthz of the API on this host, at the port the API was told to use (CNAI_PORT)."""
    return f"http://127.0.0.1:{os.environ.get('CNAI_PORT', '8000')}/healthz"


def probe(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 (our own URL)
            return reply.status == 200, f"{url}: HTTP {reply.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{url}: unreachable ({reason})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.healthcheck", description=__doc__)
    parser.add_argument("--url", default=None, help="URL to probe [default: API /healthz]")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds [default: 3]")
    args = parser.parse_args(argv)
    url = args.url or default_url()
    if not url.startswith(("http://", "https://")):
        parser.error(f"--url must be an http(s) URL, got {url!r}")
    if args.timeout <= 0:
        parser.error("--timeout must be a positive number of seconds")
    healthy, line = probe(url, args.timeout)
    print(line, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
