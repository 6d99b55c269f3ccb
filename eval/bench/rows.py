"""The bench row every section returns, shared with eval.bench.ingestion (issue 17)."""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def row(
    section: str,
    figure: str,
    value: float | None,
    unit: str,
    baseline: str = "",
    baseline_value: float | None = None,
    target: str = "",
    met: bool | None = None,
) -> Row:
    """One figure beside what it is compared with; ``ratio`` is value / baseline_value."""
    ratio = value / baseline_value if value is not None and baseline_value else None
    return {
        "section": section,
        "figure": figure,
        "value": None if value is None else round(float(value), 4),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": None if baseline_value is None else round(float(baseline_value), 4),
        "ratio": None if ratio is None else round(ratio, 4),
        "target": target,
        "met": met,
    }


def normalise(section: str, result: Any) -> list[Row]:
    """Rows from a section's result: a list of rows, or a dict holding them under ``figures``
    (the first shape eval.bench.ingestion used); ``name`` is read as ``figure``."""
    rows = result.get("figures", []) if isinstance(result, dict) else list(result)
    out = []
    for r in rows:
        r = dict(r)
        r.setdefault("figure", r.pop("name", "?"))
        r.setdefault("section", section)
        for key in ("unit", "baseline", "target"):
            r[key] = r.get(key) or ""
        for key in ("value", "baseline_value", "ratio", "met"):
            r.setdefault(key, None)
        out.append(r)
    return out
