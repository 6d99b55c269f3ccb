"""The ``cnai`` command line: the one place that composes ingest, service, ui and eval.

Domain errors become one red line and exit code 2; nothing heavy is imported before it is needed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from ingest.errors import CnaiError

app = typer.Typer(
    help="CNAI Assistant: grounded answers about Cloud Native AI, with citations.",
    no_args_is_help=True,
    add_completion=False,
)
corpus_app = typer.Typer(
    help="The bundled knowledge base and its public sources.", no_args_is_help=True
)
app.add_typer(corpus_app, name="corpus")
# soft_wrap keeps each message on one line, whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
T = TypeVar("T")

IndexOpt = Annotated[
    Path | None,
    typer.Option("--index", help="Index folder. [env: CNAI_INDEX; default: var/index]"),
]


def _run(fn: Callable[[], T]) -> T:
    """Run a command body, turning domain and settings errors into one clear line."""
    try:
        return fn()
    except CnaiError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"CNAI_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        err.print(f"[red]error: invalid setting[/red] {problems}")
        raise typer.Exit(2) from None


def _overrides(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    index: IndexOpt = None,
    model: Annotated[
        str | None, typer.Option(help="Embedding model id or folder. [env: CNAI_EMBEDDING_MODEL]")
    ] = None,
    chunk_tokens: Annotated[
        int | None, typer.Option(help="Largest chunk in tokens. [env: CNAI_CHUNK_TOKENS]")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Torch threads. [env: CNAI_THREADS]")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Build or update an index from files and folders (Markdown, MDX, HTML, text, PDF, VTT, SRT).

    Incremental: unchanged documents are not embedded again, changed ones are re-embedded,
    and documents no longer under PATHS are removed. The new version replaces the old one
    atomically, so a failed run leaves the previous index usable.
    """

    def body() -> None:
        from ingest.embed import Embedder
        from ingest.pipeline import discover
        from ingest.pipeline import ingest as run_ingest
        from ingest.settings import IngestSettings

        settings = IngestSettings(
            **_overrides(
                index=index, embedding_model=model, chunk_tokens=chunk_tokens, threads=threads
            )
        )
        discover(paths)  # bad paths fail before the model takes seconds to load
        embedder = Embedder(settings.embedding_model, threads=settings.threads)
        report = run_ingest(
            paths, settings.index, embedder, settings.chunk_tokens, settings.batch_size, progress
        )
        for line in report.skipped:
            err.print(f"[yellow]skipped:[/yellow] {line}")
        state = "up to date" if report.up_to_date else f"wrote {report.version}"
        err.print(
            f"[green]index {settings.index}: {state}[/green] — {len(report.added)} added, "
            f"{len(report.changed)} changed, {len(report.removed)} removed, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; "
            f"{report.chunks} chunks, {report.embedded} embedded"
        )

    _run(body)


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option(help="[env: CNAI_HOST; default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[env: CNAI_PORT; default 8000]")] = None,
) -> None:
    """Serve the HTTP API (docs at /docs) over an index."""

    def body() -> None:
        import uvicorn

        from service.app import create_app
        from service.settings import ServiceSettings

        settings = ServiceSettings(**_overrides(index=index, host=host, port=port))
        err.print(f"API on http://{settings.host}:{settings.port} (docs at /docs)")
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")

    _run(body)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the chat UI.")] = 8501,
    host: Annotated[str, typer.Option(help="Address of the chat UI.")] = "127.0.0.1",
    api_url: Annotated[
        str | None,
        typer.Option(help="API base URL. [env: CNAI_API_URL; default http://127.0.0.1:8000]"),
    ] = None,
) -> None:
    """Start the Streamlit chat UI (it talks to the API over HTTP)."""
    import subprocess

    env = dict(os.environ)
    if api_url:
        env["CNAI_API_URL"] = api_url
    script = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(port), "--server.address", host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    raise typer.Exit(subprocess.call(cmd, env=env))


def _engine(index: Path | None):  # type: ignore[no-untyped-def]
    from service.engine import Engine
    from service.settings import ServiceSettings

    return Engine(ServiceSettings(**_overrides(index=index)))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages to retrieve.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")] = False,
) -> None:
    """Answer a question from the index, with citations (no server needed)."""

    def body() -> None:
        from service.schemas import AskRequest

        req = _validated(lambda: AskRequest(question=question, k=k))
        resp = _engine(index).ask(req)
        if as_json:
            out.print_json(resp.model_dump_json())
            return
        out.print(resp.answer, highlight=False)
        for c in resp.citations:
            where = " > ".join(p for p in (c.source.title, c.source.section) if p)
            out.print(f"  [{c.id}] {where} ({c.source.path})", highlight=False)

    _run(body)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages to return.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")] = False,
) -> None:
    """Show the passages that best match a query (no server needed)."""

    def body() -> None:
        from service.schemas import SearchRequest

        req = _validated(lambda: SearchRequest(query=query, k=k))
        resp = _engine(index).search(req)
        if as_json:
            out.print_json(resp.model_dump_json())
            return
        for i, r in enumerate(resp.results, start=1):
            where = " > ".join(p for p in (r.source.title, r.source.section) if p)
            out.print(f"{i}. [bold]{where}[/bold] ({r.source.path}) score={r.score:.4f}")
            out.print("   " + " ".join(r.text.split())[:300], highlight=False)

    _run(body)


def _validated(build: Callable[[], T]) -> T:
    try:
        return build()
    except ValidationError as exc:
        from ingest.errors import BadInput

        raise BadInput("; ".join(e["msg"] for e in exc.errors())) from None


@app.command("eval")
def evaluate(
    dataset: Annotated[Path, typer.Option(help="JSONL question set.")] = Path(
        "eval/datasets/cnai_dev.jsonl"
    ),
    index: IndexOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("var/eval"),
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages retrieved per question.")] = 5,
) -> None:
    """Measure retrieval and answer quality on a question set; writes report.json and report.md."""

    def body() -> None:
        from eval.run import run_eval

        report = run_eval(dataset, _engine(index), out_dir, k=k)
        out.print(report.summary_markdown(), highlight=False)
        err.print(f"[green]wrote {out_dir / 'report.json'} and {out_dir / 'report.md'}[/green]")

    _run(body)


@corpus_app.command("list")
def corpus_list() -> None:
    """List the canonical public sources."""

    def body() -> None:
        from ingest.sources import load_sources

        for s in load_sources():
            out.print(f"{s.id:40} {s.kind:10} {s.url}", highlight=False)

    _run(body)


@corpus_app.command("fetch")
def corpus_fetch(
    dest: Annotated[Path, typer.Option(help="Where to save the documents.")] = Path("var/corpus"),
    timeout: Annotated[float, typer.Option(help="Seconds per download.")] = 20.0,
) -> None:
    """Download the public CNAI sources (needs internet), then: cnai ingest var/corpus."""

    def body() -> None:
        from ingest.sources import fetch_sources, load_sources

        saved = fetch_sources(load_sources(), dest, timeout=timeout)
        err.print(f"[green]saved {len(saved)} documents to {dest}[/green]")
        out.print(json.dumps([str(p) for p in saved], indent=2))

    _run(body)


if __name__ == "__main__":
    app()
