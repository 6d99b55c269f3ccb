"""The ``cnai`` command line: the one place that composes ingest, service, ui and eval.

Domain errors become one red line and exit code 2; nothing heavy is imported before it is needed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eval.cli import eval_app
from ingest.errors import BadInput
from service.cli_support import (
    IndexOpt,
    MilvusUriOpt,
    StoreOpt,
    check_listen,
    err,
    load_engine,
    out,
    overrides,
    run,
    validated,
    writable_index,
)

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from ingest.store import IndexVersion

app = typer.Typer(
    help="CNAI Assistant: grounded answers about Cloud Native AI, with citations.",
    no_args_is_help=True,
    add_completion=False,
)
corpus_app = typer.Typer(
    help="The bundled knowledge base and its public sources.", no_args_is_help=True
)
milvus_app = typer.Typer(
    help="Dense search in Milvus (CNAI_STORE=milvus): load index versions into it.",
    no_args_is_help=True,
)
app.add_typer(corpus_app, name="corpus")
app.add_typer(milvus_app, name="milvus")
app.add_typer(eval_app, name="eval")
ANSWERER_HELP = "Answer backend: extractive, local or openai. [env: CNAI_ANSWERER]"


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
    engine: Annotated[
        str,
        typer.Option(help="Where documents are loaded, chunked and embedded: local or ray."),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="With --engine ray: the cluster (auto, or ray://HOST:10001 for KubeRay); "
            "empty starts Ray on this machine. [env: RAY_ADDRESS]"
        ),
    ] = None,
    store: StoreOpt = None,
    milvus_uri: MilvusUriOpt = None,
) -> None:
    """Build or update an index from files and folders (Markdown, MDX, HTML, text, PDF, VTT, SRT).

    Incremental: unchanged documents are not embedded again, changed ones are re-embedded,
    and documents no longer under PATHS are removed. The new version replaces the old one
    atomically, so a failed run leaves the previous index usable.
    """

    def body() -> None:
        from ingest.embed import Embedder
        from ingest.errors import BadInput
        from ingest.pipeline import discover
        from ingest.pipeline import ingest as run_ingest
        from ingest.settings import IngestSettings
        from ingest.store import FORMAT_VERSION
        from service.settings import ServiceSettings

        settings = IngestSettings(
            **overrides(
                index=index, embedding_model=model, chunk_tokens=chunk_tokens, threads=threads
            )
        )
        if engine not in ("local", "ray"):
            raise BadInput(f"--engine must be local or ray, not {engine!r}")
        if address and engine != "ray":
            raise BadInput("--address is for --engine ray")
        backend = ServiceSettings(**overrides(index=index, store=store, milvus_uri=milvus_uri))
        discover(paths)  # bad paths fail before the model takes seconds to load
        writable_index(settings.index)
        embedder = Embedder(settings.embedding_model, threads=settings.threads)
        builder = None
        if engine == "ray":
            from ingest.ray_engine import ray_builder

            builder = ray_builder(
                settings.embedding_model,
                settings.chunk_tokens,
                settings.batch_size,
                address=address or os.environ.get("RAY_ADDRESS") or None,
            )
        report = run_ingest(
            paths,
            settings.index,
            embedder,
            settings.chunk_tokens,
            settings.batch_size,
            progress,
            builder=builder,
        )
        for line in report.skipped:
            err.print(f"[yellow]skipped:[/yellow] {line}")
        state = "up to date" if report.up_to_date else f"wrote {report.version}"
        if report.upgraded:
            state += f" (upgraded to index format {FORMAT_VERSION} in {report.version})"
        err.print(
            f"[green]index {settings.index}: {state}[/green] — {len(report.added)} added, "
            f"{len(report.changed)} changed, {len(report.removed)} removed, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped; "
            f"{report.chunks} chunks, {report.embedded} embedded"
        )
        if backend.store == "milvus":
            _load_milvus(settings.index, backend.milvus_uri)
        if backend.query_encoder == "onnx":
            _export_query_encoder(embedder, backend.model_cache)

    run(body)


def _export_query_encoder(embedder: Embedder, cache: Path) -> None:
    """Export the model for the API's query embedding now, while it is loaded, so the first
    `cnai serve` does not pay for it (a no-op when the cache has it)."""
    from ingest.onnx_encoder import Unsupported, ensure_export

    try:
        ensure_export(embedder, cache)
    except (Unsupported, ImportError, OSError) as exc:
        err.print(f"[yellow]note:[/] the API will embed queries with torch ({exc})")


def _load_milvus(index: Path, uri: str) -> None:
    from ingest.milvus import load_version
    from ingest.store import load_index

    name = load_version(load_index(index), uri)
    err.print(f"[green]Milvus {uri}: collection {name} holds this version's vectors[/green]")


@milvus_app.command("load")
def milvus_load(index: IndexOpt = None, milvus_uri: MilvusUriOpt = None) -> None:
    """Copy the live index version's vectors into its own Milvus collection (once per version)."""

    def body() -> None:
        from service.settings import ServiceSettings

        settings = ServiceSettings(**overrides(index=index, milvus_uri=milvus_uri))
        _load_milvus(settings.index, settings.milvus_uri)

    run(body)


@app.command()
def adapt(
    index: IndexOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for adapted models.")] = Path("var/models"),
    cross_encoder: Annotated[
        bool,
        typer.Option(
            "--cross-encoder",
            help="Train a reranker (CNAI_RERANKER=cross-encoder) instead of the embedder.",
        ),
    ] = False,
    epochs: Annotated[
        int | None, typer.Option(min=1, max=20, help="Passes over the pairs. [default: 1]")
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(min=1, max=1_000_000, help="--cross-encoder: most steps. [default: 2000]"),
    ] = None,
    minutes: Annotated[
        float | None,
        typer.Option(
            min=0.01, max=24 * 60, help="--cross-encoder: most minutes of training. [default: 20]"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="--cross-encoder: random seed.")] = 0,
    max_pairs: Annotated[
        int | None,
        typer.Option(min=32, help="Train on a random sample of this many pairs. [default: all]"),
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Torch threads. [env: CNAI_THREADS]")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Fine-tune the embedding model, or train a cross-encoder reranker, on an index's own
    headings and sentences (optional).

    Keep the result only if `cnai eval` shows it helps. An embedder: rebuild the index with
    `cnai ingest PATH... --model FOLDER`; serving then uses that model, as the index records it.
    A cross-encoder: serve with CNAI_RERANKER=cross-encoder CNAI_RERANKER_MODEL=FOLDER.
    """

    def body() -> None:
        from ingest.settings import IngestSettings
        from ingest.store import load_index

        if cross_encoder and epochs is not None:
            raise BadInput(
                "--epochs is for the embedder; bound --cross-encoder by --steps/--minutes"
            )
        if not cross_encoder and (steps is not None or minutes is not None):
            raise BadInput("--steps and --minutes bound --cross-encoder training: add it")
        settings = IngestSettings(**overrides(index=index, threads=threads))
        version = load_index(settings.index)
        if cross_encoder:
            _adapt_cross_encoder(
                version,
                out,
                settings.index,
                settings.threads,
                steps,
                minutes,
                seed,
                max_pairs,
                progress,
            )
            return
        from ingest.adapt import adapt as run_adapt
        from ingest.embed import Embedder

        embedder = Embedder(version.manifest.model, threads=settings.threads)
        folder = run_adapt(
            embedder, version, out, epochs=epochs or 1, max_pairs=max_pairs, show_progress=progress
        )
        err.print(f"[green]adapted model saved to {folder}[/green]")
        err.print(f"next: cnai ingest PATH... --index DIR --model {folder}")

    run(body)


def _adapt_cross_encoder(
    version: IndexVersion,
    out: Path,
    index: Path,
    threads: int,
    steps: int | None,
    minutes: float | None,
    seed: int,
    max_pairs: int | None,
    progress: bool,
) -> None:
    """Train a reranker whose hard negatives the service's own retriever mines."""
    from ingest.embed import Embedder
    from service.engine import hybrid_retriever
    from service.reranker_adapt import CrossEncoderTraining, check_out_folder, train_cross_encoder
    from service.settings import ServiceSettings

    check_out_folder(out)  # before the models load
    # The miner is the service's own retriever, without a second-stage reranker.
    service = ServiceSettings(index=index, threads=threads, reranker="none")
    embedder = Embedder(version.manifest.model, threads=threads)
    retriever = hybrid_retriever(service, version, embedder)
    folder = train_cross_encoder(
        version,
        retriever,
        out,
        steps=steps or 2000,
        minutes=minutes or 20.0,
        config=CrossEncoderTraining(seed=seed),
        threads=threads,
        show_progress=progress,
        max_pairs=max_pairs,
    )
    err.print(f"[green]cross-encoder saved to {folder}[/green]")
    err.print(
        f"next: CNAI_RERANKER=cross-encoder CNAI_RERANKER_MODEL={folder} "
        "cnai eval --split tune --index DIR"
    )


@app.command()
def calibrate(
    index: IndexOpt = None,
    full_index: Annotated[
        Path | None,
        typer.Option(
            help="Index of the CNAI, Kubeflow and KServe documents, for the extended question set."
        ),
    ] = None,
    dataset: Annotated[
        Path, typer.Option(help="Question set asked of --index (its tune split).")
    ] = Path("eval/datasets/cnai_dev.jsonl"),
    extended_dataset: Annotated[
        Path, typer.Option(help="Question set asked of --full-index (its tune split).")
    ] = Path("eval/datasets/extended_dev.jsonl"),
    out: Annotated[Path, typer.Option(help="Where to write the model JSON.")] = Path(
        "service/answering/abstention.json"
    ),
    templates: Annotated[
        bool, typer.Option(help="Add templated near-miss unanswerable questions.")
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Fit the abstention model on the tune split and write it as JSON (see README "Abstention").

    Test questions are never used. Prints the cross-validated precision and recall on tune.
    """

    def body() -> None:
        from eval.calibrate import calibrate as fit

        for path in (dataset, *((extended_dataset,) if full_index else ())):
            if not path.is_file():
                raise BadInput(f"question set {path} does not exist")
        if out.exists() and out.is_dir():
            raise BadInput(f"--out {out} is a folder: give a file name")
        sets = [(dataset, load_engine(index))]
        if full_index is not None:
            sets.append((extended_dataset, load_engine(full_index)))
        model = fit(sets, out, templates=templates, progress=progress, log=err.print)
        cv = model.meta["cross_validation"]
        for name, figures in cv.items():
            if isinstance(figures, dict) and "recall" in figures:
                err.print(
                    f"cross-validated on tune, {name}: abstention precision "
                    f"{figures['precision']:.3f}, recall {figures['recall']:.3f}"
                )
        err.print(f"[green]wrote {out} (threshold {model.threshold:.3f})[/green]")

    run(body)


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option(help="[env: CNAI_HOST; default 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[env: CNAI_PORT; default 8000]")] = None,
    answerer: Annotated[str | None, typer.Option(help=ANSWERER_HELP)] = None,
    store: StoreOpt = None,
    milvus_uri: MilvusUriOpt = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Server processes; they share one memory-mapped vector index."
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (docs at /docs) over an index."""

    def body() -> None:
        import uvicorn

        from service.app import create_app
        from service.settings import ServiceSettings

        given = overrides(
            index=index,
            host=host,
            port=port,
            answerer=answerer,
            store=store,
            milvus_uri=milvus_uri,
        )
        settings = ServiceSettings(**given)
        check_listen(settings.host, settings.port)
        err.print(
            f"API on http://{settings.host}:{settings.port} (docs at /docs), "
            f"answers: {settings.answerer}"
        )
        from service.security import exposure_warning

        if warning := exposure_warning(settings.host, settings.keys()):
            err.print(f"[yellow]warning:[/] {warning}")
        from service.observability import log_config

        logs = log_config(settings.log_format)
        if workers == 1:
            api = create_app(settings)
            uvicorn.run(api, host=settings.host, port=settings.port, log_config=logs)
            return
        # Each worker process builds its own app from CNAI_* variables: pass the options on.
        os.environ.update({f"CNAI_{k.upper()}": str(v) for k, v in given.items()})
        uvicorn.run(
            "service.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_config=logs,
        )

    run(body)


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


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages to retrieve.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")] = False,
    mode: Annotated[str | None, typer.Option(help=ANSWERER_HELP)] = None,
    store: StoreOpt = None,
    milvus_uri: MilvusUriOpt = None,
) -> None:
    """Answer a question from the index, with citations (no server needed)."""

    def body() -> None:
        from service.schemas import AskRequest, AskResponse

        req = validated(lambda: AskRequest(question=question, k=k, mode=mode))
        engine = load_engine(index, store, milvus_uri)
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

    run(body)


@app.command()
def mcp(index: IndexOpt = None) -> None:
    """Serve the tools search_cnai and ask_cnai to an MCP client over stdio."""

    def body() -> None:
        from service.mcp_server import build_server

        # Loaded before the handshake, so a missing index is one clear line on stderr.
        build_server(load_engine(index)).run("stdio")

    run(body)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    index: IndexOpt = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages to return.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")] = False,
    store: StoreOpt = None,
    milvus_uri: MilvusUriOpt = None,
) -> None:
    """Show the passages that best match a query (no server needed)."""

    def body() -> None:
        from service.schemas import SearchRequest

        req = validated(lambda: SearchRequest(query=query, k=k))
        resp = load_engine(index, store, milvus_uri).search(req)
        if as_json:
            out.print_json(resp.model_dump_json())
            return
        for i, r in enumerate(resp.results, start=1):
            where = " > ".join(p for p in (r.source.title, r.source.section) if p)
            out.print(f"{i}. [bold]{where}[/bold] ({r.source.path}) score={r.score:.4f}")
            out.print("   " + " ".join(r.text.split())[:300], highlight=False)

    run(body)


@app.command()
def bench(
    index: Annotated[Path, typer.Option(help="Index to serve (the CNAI corpus).")],
    out: Annotated[Path, typer.Option(help="Folder for bench.json and bench.md.")],
    sections: Annotated[
        str,
        typer.Option(help="Comma-separated: serving,throughput,load,memory,scaling,ingestion,llm"),
    ] = "serving,throughput,load,memory,scaling",
    full_index: Annotated[
        Path | None, typer.Option(help="Larger index for latency, memory and scaling.")
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="Documents the indexes came from (LangChain baseline, ingestion)."),
    ] = None,
    dataset: Annotated[Path, typer.Option(help="Questions to send.")] = Path(
        "eval/datasets/cnai_dev.jsonl"
    ),
    requests: Annotated[int, typer.Option(help="Timed requests per endpoint (latency).")] = 100,
    seconds: Annotated[float, typer.Option(help="Seconds per concurrency level.")] = 8.0,
    workers: Annotated[
        int, typer.Option(help="Server processes of the second throughput round and of load.")
    ] = 2,
    load_seconds: Annotated[
        float, typer.Option(help="Length of the load section (search + ask mixed).")
    ] = 60.0,
    load_clients: Annotated[int, typer.Option(help="Concurrent clients of the load section.")] = 32,
    scales: Annotated[str, typer.Option(help="Corpus multiples for scaling.")] = "1,10,40",
    threads: Annotated[int, typer.Option(help="Torch threads (ingestion, llm).")] = 2,
    langchain_full: Annotated[
        bool, typer.Option(help="Build the LangChain baseline over --full-index too (slow).")
    ] = False,
) -> None:
    """Benchmark serving and ingestion; each figure beside its target and a same-run baseline."""

    def body() -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from eval.bench.suite import BenchConfig, parse_sections
        from eval.bench.suite import run as run_bench

        try:
            factors = [int(x) for x in scales.split(",") if x.strip()]
            cfg = BenchConfig(
                index=index, out=out, full_index=full_index, sections=parse_sections(sections),
                dataset=dataset, corpus=corpus, requests=requests, seconds=seconds,
                workers=workers, factors=factors, threads=threads, langchain_full=langchain_full,
                load_seconds=load_seconds, load_clients=load_clients,
            )  # fmt: skip
        except ValueError as exc:
            raise BadInput(f"{exc} (e.g. --sections serving,load --scales 1,10,40)") from None
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task("bench", total=None)

            def say(message: str) -> None:
                bar.update(task, description=message)
                if not err.is_terminal:  # a pipe or log gets every step as a line
                    err.print(message)

            try:
                report = run_bench(cfg, say)
            except ValueError as exc:
                raise BadInput(str(exc)) from None
        missed = [r["figure"] for r in report["rows"] if r["met"] is False]
        err.print(f"[green]wrote {out / 'bench.json'} and {out / 'bench.md'}[/green]")
        if missed:
            err.print(f"[yellow]targets missed: {'; '.join(missed)}[/yellow]")

    run(body)


@corpus_app.command("list")
def corpus_list() -> None:
    """List the canonical public sources."""

    def body() -> None:
        from ingest.sources import load_sources

        for s in load_sources():
            out.print(f"{s.id:40} {s.kind:10} {s.url}", highlight=False)

    run(body)


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

    run(body)


if __name__ == "__main__":
    app()
