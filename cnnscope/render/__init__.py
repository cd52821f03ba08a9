"""Report -> text: a rich table, JSON, CSV or Markdown. Units are formatted here only."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from typing import Any, TextIO

from cnnscope.analyze.base import Report
from cnnscope.render.units import fmt, get_path

FORMATS = ("table", "json", "csv", "markdown")


def render(
    report: Report, fmt_name: str, out: TextIO | None = None, err: TextIO | None = None, title: str | None = None
) -> None:
    out = out or sys.stdout
    err = err or sys.stderr
    if fmt_name == "json":
        out.write(to_json(report))
    elif fmt_name == "csv":
        out.write(to_csv(report))
    elif fmt_name == "markdown":
        out.write(to_markdown(report, title))
    else:
        from cnnscope.render.table import print_table

        print_table(report, out, err, title)


def to_json(report: Report) -> str:
    """Indented JSON with one line per layer: readable, diffable, and fast on huge graphs.

    Always strict JSON: a figure that is not a finite number (a measured error of 0/0) is null."""
    try:
        return _json(Report.to_json(report))
    except ValueError:  # NaN or infinity somewhere: written as null, not as NaN
        return _json(_finite(Report.to_json(report)))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json(doc: dict[str, Any]) -> str:
    parts = []
    for key, value in doc.items():  # the dict, also for api.ModelReport
        if key == "layers" and value:
            rows = ",\n".join("    " + json.dumps(r, separators=(", ", ": "), allow_nan=False) for r in value)
            text = "[\n" + rows + "\n  ]"
        else:
            text = json.dumps(value, indent=2, allow_nan=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


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


def _cells(report: Report, row: dict[str, Any]) -> list[str]:
    return [fmt(get_path(row, c.key), c.unit) for c in report.columns]


def _total_cells(report: Report) -> list[str]:
    cells = []
    for i, c in enumerate(report.columns):
        if i == 0:
            cells.append("total")
        elif c.total and get_path(report.totals, c.key) is not None:
            cells.append(fmt(get_path(report.totals, c.key), c.unit))
        else:
            cells.append("")
    return cells


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.key for c in report.columns])
    for row in report.rows:
        vals = []
        for c in report.columns:
            v = get_path(row, c.key)
            if isinstance(v, (list, tuple)):
                v = "x".join(str(x) for x in v)
            vals.append("" if v is None else v)
        w.writerow(vals)
    return buf.getvalue()


def to_markdown(report: Report, title: str | None = None) -> str:
    lines = [
        f"### {title or report.model}",
        "",
        f"Input {fmt(list(report.input_shape), 'shape')} (batch included).",
        "",
    ]
    lines.append("| " + " | ".join(c.title for c in report.columns) + " |")
    lines.append("|" + "|".join("---:" if c.unit not in ("text",) else "---" for c in report.columns) + "|")
    for row in report.rows:
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in _cells(report, row)) + " |")
    lines.append("| " + " | ".join(f"**{x}**" if x else "" for x in _total_cells(report)) + " |")
    figs = figure_lines(report)
    if figs:
        lines.append("")
        lines.extend(f"- {label}: **{value}**" for label, value in figs)
    if report.warnings:
        lines.append("")
        for w in report.warnings:
            where = f" (`{w.layer}`)" if w.layer else ""
            lines.append(f"- ⚠️ {w.message}{where}")
    if report.notes:
        lines.append("")
        lines.extend(f"> {n}" for n in report.notes)
    return "\n".join(lines) + "\n"
