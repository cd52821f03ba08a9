"""A report's rows, totals and whole-model figures as text, for the formats that print them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.render.units import fmt, get_path, plain

# How much each report column matters in a narrow terminal (higher stays longer). Unlisted columns get 50.
PRIORITY: dict[str, int] = {
    "name": 10**6,  # never hidden (layout.NEVER)
    "output_shape": 95,
    "type": 92,
    "params": 90,
    "macs": 90,
    "rf_size": 88,
    "activation_bytes": 80,
    "rf": 75,
    "flops": 72,
    "other_ops_total": 70,
    "param_bytes": 70,
    "rf_stride": 68,
    "macs_share": 60,
    "rf_coverage": 58,
    "rf_padding": 55,
    "trainable_params": 45,
    "buffer_bytes": 42,
    "buffers": 40,
}


def figure_lines(report: Report) -> list[tuple[str, str]]:
    """(title, formatted value) of each whole-model figure the report has."""
    out = []
    for c in report.figures:
        v = get_path(report.totals, c.key)
        if v is None:
            continue
        text = fmt(v, c.unit)
        if isinstance(v, int) and c.unit in ("macs", "flops", "ops", "bytes") and v >= 1000:
            text += f" ({v:,}{' B' if c.unit == 'bytes' else ''})"  # the exact figure beside the rounded one
        out.append((c.title, text))
    return out


def cells(report: Report, row: Mapping[str, Any]) -> list[str]:
    return [fmt(get_path(row, c.key), c.unit) for c in report.columns]


def total_cells(report: Report) -> list[str]:
    out = []
    for i, c in enumerate(report.columns):
        if i == 0:
            out.append("total")
        elif c.total and get_path(report.totals, c.key) is not None:
            out.append(fmt(get_path(report.totals, c.key), c.unit))
        else:
            out.append("")
    return out


def csv_value(v: Any, unit: str = "text") -> Any:
    """A plain value as a CSV cell: a shape as ``1x64x56x56``, nothing as an empty cell (a
    structured value, a receptive field, as the plain value it stands for: ``units.plain``)."""
    v = plain(v, unit)
    if isinstance(v, (list, tuple)):
        return "x".join(str(x) for x in v)
    return "" if v is None else v
