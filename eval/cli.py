"""``cnai eval``: measure retrieval and answer quality, compare configurations, diff reports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli_support import IndexOpt, MilvusUriOpt, StoreOpt, err, load_engine, out, run

if TYPE_CHECKING:
    from eval.judge import Judge
    from eval.run import Report

eval_app = typer.Typer(invoke_without_command=True)


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
    split: Annotated[
        str | None,
        typer.Option(
            help="Questions to use: tune, test or all (the locked split recorded in the "
            "question set). [default: test with --check, else all]"
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
    from_feedback: Annotated[
        Path | None,
        typer.Option(
            help="Instead of evaluating: write the thumbs-down items of this GET "
            "/v1/feedback/export file as candidate questions to --out/candidates.jsonl."
        ),
    ] = None,
    store: StoreOpt = None,
    milvus_uri: MilvusUriOpt = None,
) -> None:
    """Measure retrieval and answer quality; `cnai eval diff OLD NEW` compares two reports.

    Writes report.json, report.md and PNG plots to --out. With --check, exits 1 when an aggregate
    falls below eval/thresholds.toml; with --compare, runs configurations side by side.
    """
    if ctx.invoked_subcommand is not None:
        return
    modes = mode or []
    backend = {"store": store, "milvus_uri": milvus_uri}

    def body() -> None:
        if from_feedback is not None:
            from eval.feedback import write_candidates

            target, found, read = write_candidates(from_feedback, out_dir)
            err.print(
                f"[green]wrote {target}: {found} candidate questions from {read} feedback items "
                "(thumbs down), marked for review[/green]"
            )
            return
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
        chosen = split or ("test" if check else "all")
        load_questions(dataset, chosen)
        grader = Judge.from_env() if judge else None
        if judge and grader is None:
            err.print(SKIPPED)
        if compare:
            try:
                _compare(
                    dataset, index, adapted_index, out_dir, k, modes, docs_root, progress, grader,
                    plots, chosen, backend,
                )  # fmt: skip
            finally:
                if grader:
                    grader.close()
            return
        try:
            report = _single(
                dataset, index, out_dir, k, api, modes, progress, grader, plots, chosen, backend
            )
        finally:
            if grader:
                grader.close()
        out.print(_summary(report), highlight=False, markup=False)
        if grader and grader.failures:
            err.print(f"[yellow]the LLM judge failed on {grader.failures} questions[/yellow]")
        pictures = ", metrics.png, by_type.png, latency.png" if plots else ""
        if plots and report.summary.get("reliability"):
            pictures += ", reliability.png"
        err.print(f"[green]wrote {out_dir}: report.json, report.md{pictures}[/green]")
        failures = check_summary(report.summary, minimums)
        for failure in failures:
            err.print(f"[red]below threshold:[/red] {failure}")
        if check and failures:
            raise typer.Exit(1)
        if check:
            err.print(f"[green]all {len(minimums)} thresholds met[/green]")

    run(body)


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
    split: str,
    backend: dict[str, str | None],
) -> Report:
    from eval.run import run_eval
    from eval.runners import ApiRunner, EngineRunner
    from service.answering.support import SupportScorer

    mode = modes[0] if modes else None
    if api:
        from ingest.embed import Embedder

        runner = ApiRunner(api, mode=mode)
        # Support is judged here, with the bundled model (the API's default one).
        scorer = SupportScorer(Embedder(threads=1))
        try:
            return run_eval(dataset, runner, out_dir, k, progress, scorer, grader, plots, split)
        finally:
            runner.close()
    engine = load_engine(index, **backend)
    return run_eval(
        dataset, EngineRunner(engine, mode=mode), out_dir, k, progress, None, grader, plots, split
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
    split: str,
    backend: dict[str, str | None],
) -> None:
    from eval.compare import comparison_markdown, run_compare

    roots = docs_root or [_shared_corpus(), Path("corpus")]
    engine = load_engine(index, **backend)
    adapted = load_engine(adapted_index, **backend) if adapted_index else None
    result = run_compare(
        dataset, engine, out_dir, k, modes, roots, progress, grader, plots, adapted=adapted,
        split=split,
    )  # fmt: skip
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

    run(body)


@eval_app.command("conversations")
def eval_conversations(
    dataset: Annotated[Path, typer.Option(help="JSONL conversation set.")] = Path(
        "eval/datasets/conversations_dev.jsonl"
    ),
    index: IndexOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path(
        "var/eval-conversations"
    ),
    k: Annotated[int, typer.Option(min=1, max=50, help="Passages retrieved per turn.")] = 5,
    split: Annotated[
        str, typer.Option(help="Locked split to evaluate: tune, test or all.")
    ] = "test",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Score follow-up questions with their history, alone, and joined to the previous question."""

    def body() -> None:
        from eval.conversations import load_conversations, markdown, run_conversations, write

        load_conversations(dataset, split)  # bad input fails before the model loads
        report = run_conversations(dataset, load_engine(index), k, split, progress)
        write(report, out_dir)
        out.print(markdown(report), highlight=False, markup=False)
        err.print(f"[green]wrote {out_dir}: conversations.json, conversations.md[/green]")

    run(body)
