"""PNG plots of a report with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.metrics import percentile

if TYPE_CHECKING:
    from eval.run import Report

# The headline metrics, in the order the plots show them.
HEADLINE = (
    "hit@1",
    "hit@5",
    "mrr",
    "ndcg@5",
    "gold_recall@5",
    "key_fact_recall",
    "lead_key_fact_recall",
    "token_f1",
    "faithfulness",
    "citation_precision",
    "abstention_precision",
    "abstention_recall",
    "judge_correctness",
    "judge_groundedness",
)
BY_TYPE = ("hit@5", "mrr", "key_fact_recall", "token_f1", "faithfulness")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def grouped_bars(
    groups: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    path: Path,
    ylabel: str = "score",
) -> Path:
    """One cluster per group, one bar per series; a missing value draws no bar."""
    plt = _pyplot()
    n = max(len(series), 1)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(7.0, 0.35 * len(groups) * n + 2.5), 4.8))
    for i, (label, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(xs, heights, width, label=label)
        for bar, v in zip(bars, values, strict=True):
            if v is None:
                bar.set_alpha(0)
            elif n <= 4:
                ax.annotate(
                    f"{v:.2f}",
                    (bar.get_x() + bar.get_width() / 2, v),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right")
    ax.set_ylim(0, 1.08)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=min(n, 4))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_plot(stages: Mapping[str, Sequence[float]], title: str, path: Path) -> Path:
    """Box plot of each stage's latencies, p50 and p95 written beside each box."""
    plt = _pyplot()
    names = [s for s, v in stages.items() if v]
    data = [stages[s] for s in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(names) + 2), 4.5))
    if data:
        ax.boxplot(data, vert=False, showfliers=True)
        ax.set_yticks(range(1, len(names) + 1), names)
        for i, values in enumerate(data, start=1):
            p50, p95 = percentile(values, 0.5) or 0.0, percentile(values, 0.95) or 0.0
            ax.annotate(
                f"p50 {p50:.1f}  p95 {p95:.1f}",
                (max(values), i),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log scale)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reliability_plot(rows: Sequence[Mapping[str, float]], title: str, path: Path) -> Path:
    """Predicted probability of "unanswerable" against the observed share, per bin."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.0, 5.0))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    xs = [r["predicted"] for r in rows]
    ys = [r["observed"] for r in rows]
    ax.plot(xs, ys, marker="o", label="abstention model")
    for r in rows:
        ax.annotate(
            f"n={int(r['n'])}",
            (r["predicted"], r["observed"]),
            xytext=(5, -10),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability the question cannot be answered")
    ax.set_ylabel("share of questions that were unanswerable")
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_report(report: Report, out_dir: Path) -> list[Path]:
    """metrics.png (this configuration), by_type.png, latency.png and, when the abstention
    model ran, reliability.png."""
    s = report.summary
    shown = [k for k in HEADLINE if s.get(k) is not None]
    paths = [
        grouped_bars(
            shown,
            {report.name: [s[k] for k in shown]},
            f"{report.name}: {Path(report.dataset).name}, {s['n']} questions",
            out_dir / "metrics.png",
        )
    ]
    types = list(report.by_type)
    paths.append(
        grouped_bars(
            types,
            {k: [report.by_type[t].get(k) for t in types] for k in BY_TYPE},
            f"{report.name}: by question type",
            out_dir / "by_type.png",
        )
    )
    stages: dict[str, list[float]] = {}
    for r in report.questions:
        for stage, ms in r.timings_ms.items():
            stages.setdefault(stage, []).append(max(ms, 0.01))
    paths.append(latency_plot(stages, f"{report.name}: latency per stage", out_dir / "latency.png"))
    if s.get("reliability"):
        title = f"{report.name}: abstention reliability"
        paths.append(reliability_plot(s["reliability"], title, out_dir / "reliability.png"))
    return paths
