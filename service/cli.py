"""The ``cnai`` command line: the one place that composes ingest, service, ui and eval.

Domain errors become one red line and exit code 2; nothing heavy is imported before it is needed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from ingest.errors import CnaiError

if TYPE_CHECKING:
    from eval.judge import Judge
    from eval.run import Report
    from service.engine import Engine

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
ANSWERER_HELP = "Answer backend: extractive, local or openai. [env: CNAI_ANSWERER]"


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


def _overrides(**values: Any) -> dict[str, Any]:
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
def adapt(
    index: IndexOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for adapted models.")] = Path("var/models"),
    epochs: Annotated[int, typer.Option(min=1, max=20, help="Passes over the pairs.")] = 1,
    threads: Annotated[int | None, typer.Option(help="Torch threads. [env: CNAI_THREADS]")] = None,
) -> None:
    """Fine-tune the embedding model on an index's own headings and sentences (optional).

    Keep the result only if `cnai eval` shows it helps: rebuild the index with
    `cnai ingest PATH... --model FOLDER`; serving then uses that model, as the index records it.
    """

    def body() -> None:
        from ingest.adapt import adapt as run_adapt
        from ingest.embed import Embedder
        from ingest.settings import IngestSettings
        from ingest.store import load_index

        settings = IngestSettings(**_overrides(index=index, threads=threads))
        version = load_index(settings.index)
        embedder = Embedder(version.manifest.model, threads=settings.threads)
        folder = run_adapt(embedder, version, out, epochs=epochs)
        err.print(f"[green]adapted model saved to {folder}[/green]")
        err.print(f"next: cnai ingest PATH... --index DIR --model {folder}")

    _run(body)


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option(help="[env: CNAI_HOST; default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[env: CNAI_PORT; default 8000]")] = None,
    answerer: Annotated[str | None, typer.Option(help=ANSWERER_HELP)] = None,
) -> None:
    """Serve the HTTP API (docs at /docs) over an index."""

    def body() -> None:
        import uvicorn

        from service.app import create_app
        from service.settings import ServiceSettings

        settings = ServiceSettings(
            **_overrides(index=index, host=host, port=port, answerer=answerer)
        )
        err.print(
            f"API on http://{settings.host}:{settings.port} (docs at /docs), "
            f"answers: {settings.answerer}"
        )
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


def _engine(index: Path | None) -> Engine:
    from service.engine import Engine
    from service.settings import ServiceSettings

    return Engine(ServiceSettings(**_overrides(index=index)))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages to retrieve.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")] = False,
    mode: Annotated[str | None, typer.Option(help=ANSWERER_HELP)] = None,
) -> None:
    """Answer a question from the index, with citations (no server needed)."""

    def body() -> None:
        from service.schemas import AskRequest, AskResponse

        req = _validated(lambda: AskRequest(question=question, k=k, mode=mode))
        engine = _engine(index)
        if as_json:
            out.print_json(engine.ask(req).model_dump_json())
            return
        resp = None
        for event in engine.ask_stream(req):  # verified sentences as they come
            if isinstance(event, AskResponse):
                resp = event
            else:
                out.print(event, end="", highlight=False, markup=False)
        out.print()
        assert resp is not None
        if resp.fallback:
            err.print("[yellow]no generated sentence was supported: extractive answer[/yellow]")
        for c in resp.citations:
            where = " > ".join(p for p in (c.source.title, c.source.section) if p)
            out.print(f"  [{c.id}] {where} ({c.source.path})", highlight=False)

    _run(body)


@app.command()
def mcp(index: IndexOpt = None) -> None:
    """Serve the tools search_cnai and ask_cnai to an MCP client over stdio."""

    def body() -> None:
        from service.mcp_server import build_server

        # Loaded before the handshake, so a missing index is one clear line on stderr.
        build_server(_engine(index)).run("stdio")

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


eval_app = typer.Typer(invoke_without_command=True)
app.add_typer(eval_app, name="eval")


def _shared_corpus() -> Path:
    return Path(os.environ.get("CNAI_SHARED_CORPUS", "../shared/corpus"))


@eval_app.callback()
def evaluate(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Option(help="JSONL question set.")] = Path(
        "eval/datasets/cnai_dev.jsonl"
    ),
    index: IndexOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("var/eval"),
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages retrieved per question.")] = 5,
    api: Annotated[
        str | None,
        typer.Option(help="Evaluate a running API at this URL (/v1/search and /v1/ask)."),
    ] = None,
    mode: Annotated[
        list[str] | None,
        typer.Option(help="Answer backend to use; repeat with --compare to compare several."),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Run dense only, BM25 only, hybrid (+ rerank), each --mode and the LangChain "
            "baseline side by side; writes compare.md, compare.json and compare.png.",
        ),
    ] = False,
    adapted_index: Annotated[
        Path | None,
        typer.Option(
            help="With --compare: an index built with an adapted model (cnai adapt), "
            "compared as '+ adapted model'."
        ),
    ] = None,
    docs_root: Annotated[
        list[Path] | None,
        typer.Option(
            help="Folder holding the indexed documents (ids are paths below it), for the "
            "LangChain baseline. [default: $CNAI_SHARED_CORPUS, then corpus/]"
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 when a metric falls below its threshold."),
    ] = False,
    thresholds: Annotated[
        Path | None,
        typer.Option(help="Thresholds for --check. [default: eval/thresholds.toml]"),
    ] = None,
    judge: Annotated[
        bool,
        typer.Option(help="Grade answers with the LLM judge when CNAI_JUDGE_* configure one."),
    ] = True,
    plots: Annotated[bool, typer.Option(help="Write the PNG plots.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Measure retrieval and answer quality; `cnai eval diff OLD NEW` compares two reports.

    Writes report.json, report.md and PNG plots to --out. With --check, exits 1 when an aggregate
    falls below eval/thresholds.toml; with --compare, runs configurations side by side.
    """
    if ctx.invoked_subcommand is not None:
        return
    modes = mode or []

    def body() -> None:
        from eval.dataset import load_questions
        from eval.gate import DEFAULT_THRESHOLDS, check_summary, load_thresholds
        from eval.judge import SKIPPED, Judge
        from ingest.errors import BadInput

        if compare and (api or check):
            raise BadInput("--compare runs in process and is not gated: drop --api and --check")
        if adapted_index and not compare:
            raise BadInput("--adapted-index is a row of --compare: add --compare")
        if len(modes) > 1 and not compare:
            raise BadInput("several --mode values need --compare")
        # Bad input fails before the model takes seconds to load.
        minimums = load_thresholds(thresholds or DEFAULT_THRESHOLDS) if check else {}
        load_questions(dataset)
        grader = Judge.from_env() if judge else None
        if judge and grader is None:
            err.print(SKIPPED)
        if compare:
            try:
                _compare(
                    dataset, index, adapted_index, out_dir, k, modes, docs_root, progress, grader,
                    plots,
                )  # fmt: skip
            finally:
                if grader:
                    grader.close()
            return
        try:
            report = _single(dataset, index, out_dir, k, api, modes, progress, grader, plots)
        finally:
            if grader:
                grader.close()
        out.print(_summary(report), highlight=False, markup=False)
        if grader and grader.failures:
            err.print(f"[yellow]the LLM judge failed on {grader.failures} questions[/yellow]")
        pictures = ", metrics.png, by_type.png, latency.png" if plots else ""
        err.print(f"[green]wrote {out_dir}: report.json, report.md{pictures}[/green]")
        failures = check_summary(report.summary, minimums)
        for failure in failures:
            err.print(f"[red]below threshold:[/red] {failure}")
        if check and failures:
            raise typer.Exit(1)
        if check:
            err.print(f"[green]all {len(minimums)} thresholds met[/green]")

    _run(body)


def _summary(report: Report) -> str:
    from eval.report import summary_markdown

    return summary_markdown(report)


def _single(
    dataset: Path,
    index: Path | None,
    out_dir: Path,
    k: int,
    api: str | None,
    modes: list[str],
    progress: bool,
    grader: Judge | None,
    plots: bool,
) -> Report:
    from eval.run import run_eval
    from eval.runners import ApiRunner, EngineRunner
    from service.support import SupportScorer

    mode = modes[0] if modes else None
    if api:
        from ingest.embed import Embedder

        runner = ApiRunner(api, mode=mode)
        # Support is judged here, with the bundled model (the API's default one).
        scorer = SupportScorer(Embedder(threads=1))
        try:
            return run_eval(dataset, runner, out_dir, k, progress, scorer, grader, plots)
        finally:
            runner.close()
    engine = _engine(index)
    return run_eval(
        dataset, EngineRunner(engine, mode=mode), out_dir, k, progress, None, grader, plots
    )


def _compare(
    dataset: Path,
    index: Path | None,
    adapted_index: Path | None,
    out_dir: Path,
    k: int,
    modes: list[str],
    docs_root: list[Path] | None,
    progress: bool,
    grader: Judge | None,
    plots: bool,
) -> None:
    from eval.compare import comparison_markdown, run_compare

    roots = docs_root or [_shared_corpus(), Path("corpus")]
    engine = _engine(index)
    adapted = _engine(adapted_index) if adapted_index else None
    result = run_compare(
        dataset, engine, out_dir, k, modes, roots, progress, grader, plots, adapted=adapted
    )
    out.print(comparison_markdown(result, dataset), highlight=False, markup=False)
    picture = ", compare.png" if plots else ""
    err.print(f"[green]wrote {out_dir}: compare.md, compare.json{picture}[/green]")


@eval_app.command("diff")
def eval_diff(
    old: Annotated[Path, typer.Argument(help="The earlier report.json, or its folder.")],
    new: Annotated[Path, typer.Argument(help="The later report.json, or its folder.")],
    save: Annotated[
        Path | None, typer.Option("--out", help="Also write the diff to this Markdown file.")
    ] = None,
) -> None:
    """Show what got better or worse between two reports: aggregates, then question by question."""

    def body() -> None:
        from eval.diff import diff_markdown, diff_reports
        from eval.report import load_report

        text = diff_markdown(diff_reports(load_report(old), load_report(new)))
        out.print(text, highlight=False, markup=False)
        if save:
            save.parent.mkdir(parents=True, exist_ok=True)
            save.write_text(text)

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
