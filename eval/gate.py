"""The regression gate: aggregate minimums read from a TOML file, checked against a summary."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.run import ABSTENTION, METRICS
from ingest.errors import BadInput

DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
GATED = (*METRICS, *ABSTENTION)


@dataclass
class Failure:
    metric: str
    value: float | None
    minimum: float

    def __str__(self) -> str:
        got = "no value (it applies to no question)" if self.value is None else f"{self.value:.3f}"
        return f"{self.metric}: {got} < minimum {self.minimum:.3f}"


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> dict[str, float]:
    """The ``[minimum]`` table: summary metric name -> lowest acceptable value in [0, 1]."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"cannot read thresholds {path}: {exc}") from exc
    table: Any = data.get("minimum")
    if not isinstance(table, dict) or not table:
        raise BadInput(f"{path}: needs a [minimum] table of metric = value")
    out: dict[str, float] = {}
    for metric, value in table.items():
        if metric not in GATED:
            raise BadInput(f"{path}: unknown metric {metric!r}; known: {', '.join(GATED)}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise BadInput(f"{path}: {metric} must be a number between 0 and 1, not {value!r}")
        out[metric] = float(value)
    return out


def check_summary(summary: dict[str, Any], thresholds: dict[str, float]) -> list[Failure]:
    """Every threshold the summary falls below (a metric with no value fails too)."""
    failures = []
    for metric, minimum in thresholds.items():
        value = summary.get(metric)
        if value is None or value < minimum:
            failures.append(Failure(metric, value, minimum))
    return failures
