"""The analysis report as the table a person reads; its warnings go to stderr so stdout
stays data. The layout itself is :mod:`cnnscope.render.layout`'s."""

from __future__ import annotations

import io
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from cnnscope.analyze.base import Report
from cnnscope.diagnostics import Diagnostic
from cnnscope.render.cells import PRIORITY, figure_lines
from cnnscope.render.cells import cells as _cells
from cnnscope.render.cells import total_cells as _total_cells
from cnnscope.render.layout import NEVER, Col, console, fitted_table, hidden_line, width_of
from cnnscope.render.units import compact, fmt, get_path

TEXT_UNITS = ("text", "shape")


def report_cols(report: Report) -> list[Col]:
    totals = _total_cells(report)
    full = [_cells(report, row) for row in report.rows]
    cols = []
    for j, c in enumerate(report.columns):
        text = c.unit in TEXT_UNITS
        comp = None if text else [compact(get_path(row, c.key), c.unit) for row in report.rows]
        tv = get_path(report.totals, c.key) if (j > 0 and c.total) else None
        cfoot = compact(tv, c.unit) if (tv is not None and not text) else None
        prio = PRIORITY.get(c.key, 50)
        if j == 0:
            prio = NEVER  # the first column names the row
        cols.append(
            Col(
                c.title,
                [r[j] for r in full],
                totals[j],
                comp,
                cfoot,
                prio,
                wrap=c.unit == "text",
                min_width=16 if j == 0 else 11,
                justify="left" if text else "right",
            )
        )
    return cols


def renderables(report: Report, width: int | None, title: str | None = None) -> list[Any]:
    """What a person reads, as rich renderables laid out for ``width`` (None: unlimited)."""
    caption = f"input {fmt(list(report.input_shape), 'shape')}"
    cols = report_cols(report)
    t, lay = fitted_table(
        cols,
        width,
        title=title or report.model,
        caption=caption,
        show_footer=any(c.footer for c in cols[1:]),
        header_style="bold",
        footer_style="bold",
    )
    out: list[Any] = [t]
    out.extend(Text(f"{label}: {value}") for label, value in figure_lines(report))
    out.extend(Text.assemble(("note:", "dim"), " " + note) for note in report.notes)
    if lay.hidden:
        out.append(Text(hidden_line(lay.hidden, lay.needed), style="dim"))
    return out


def print_table(report: Report, out: TextIO, err: TextIO, title: str | None = None, width: int | None = None) -> None:
    """The table on ``out`` (a terminal's width, or ``width``), its warnings on ``err``."""
    con = console(out, width=width)
    for r in renderables(report, width_of(con), title):
        con.print(r)
    print_warnings(report, err)


def to_text(report: Report, width: int | None = None, title: str | None = None) -> str:
    """The table as plain text, laid out for ``width`` columns (None: unlimited), warnings after."""

    buf = io.StringIO()
    print_table(report, buf, buf, title, width=width)
    return buf.getvalue()


def print_warnings(report: Report, err: TextIO) -> None:
    if not report.warnings:
        return
    econ = console(err, stderr=True)
    for w in report.warnings:
        print_diagnostic(econ, w.diagnostic())


SEVERITY_STYLE = {"info": "cyan", "warning": "yellow", "error": "red"}


def print_diagnostic(con: Console, d: Diagnostic) -> None:
    """The diagnostic's one text form, its ``severity[id]`` coloured."""
    first, *rest = d.text().split("\n")
    head = f"{d.severity}[{d.id}]"
    con.print(Text.assemble((head, SEVERITY_STYLE[d.severity]), first[len(head) :]))
    for line in rest:
        con.print(Text(line))
