"""Report -> an HTML table: what a Jupyter notebook shows for a report (``_repr_html_``)."""

from __future__ import annotations

from html import escape

from cnnscope.analyze.base import Report
from cnnscope.render.cells import cells as _cells
from cnnscope.render.cells import figure_lines
from cnnscope.render.cells import total_cells as _total_cells
from cnnscope.render.units import fmt

_STYLE = (
    "<style>"
    ".cnnscope-report table{border-collapse:collapse;font-variant-numeric:tabular-nums}"
    ".cnnscope-report th,.cnnscope-report td{padding:2px 8px;border-bottom:1px solid #d0d7de}"
    ".cnnscope-report td.num,.cnnscope-report th.num{text-align:right}"
    ".cnnscope-report tfoot td{font-weight:bold;border-top:2px solid #57606a}"
    ".cnnscope-report .note{color:#57606a}"
    ".cnnscope-report .warn{color:#9a6700}"
    "</style>"
)


def to_html(report: Report, title: str | None = None, max_rows: int | None = None) -> str:
    """A self-contained ``<div>``: the table (every column, exact figures), totals, notes and
    warnings. ``max_rows`` elides the middle of a very long table (the totals stay exact)."""
    num = [c.unit not in ("text", "shape") for c in report.columns]

    def cls(i: int) -> str:
        return ' class="num"' if num[i] else ""

    head = "".join(f"<th{cls(i)}>{escape(c.title)}</th>" for i, c in enumerate(report.columns))
    rows = report.rows
    elided = 0
    if max_rows is not None and len(rows) > max_rows:
        keep = max(2, max_rows // 2)
        elided = len(rows) - 2 * keep
        rows = [*rows[:keep], *rows[-keep:]]
    body = []
    for k, row in enumerate(rows):
        if elided and k == len(rows) // 2:
            body.append(f'<tr><td colspan="{len(report.columns)}" class="note">… {elided:,} more layers …</td></tr>')
        cells = _cells(report, row)
        body.append("<tr>" + "".join(f"<td{cls(i)}>{escape(x)}</td>" for i, x in enumerate(cells)) + "</tr>")
    totals = _total_cells(report)
    foot = "<tr>" + "".join(f"<td{cls(i)}>{escape(x)}</td>" for i, x in enumerate(totals)) + "</tr>"
    parts = [
        _STYLE,
        '<div class="cnnscope-report">',
        f"<table><caption><b>{escape(title or report.model)}</b> — input "
        f"{escape(fmt(list(report.input_shape), 'shape'))}</caption>",
        f"<thead><tr>{head}</tr></thead>",
        "<tbody>" + "".join(body) + "</tbody>",
        f"<tfoot>{foot}</tfoot></table>" if any(totals[1:]) else "</table>",
    ]
    figs = figure_lines(report)
    if figs:
        parts.append("<ul>" + "".join(f"<li>{escape(a)}: <b>{escape(b)}</b></li>" for a, b in figs) + "</ul>")
    for note in report.notes:
        parts.append(f'<p class="note">note: {escape(note)}</p>')
    for w in report.warnings:
        where = f" (<code>{escape(w.layer)}</code>)" if w.layer else ""
        parts.append(f'<p class="warn">warning[{escape(w.kind)}]: {escape(w.message)}{where}</p>')
    parts.append("</div>")
    return "".join(parts)
