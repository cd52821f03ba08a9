"""The rich table a person reads; warnings go to stderr so stdout stays data."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cnnscope.analyze.base import Report
from cnnscope.render import _cells, _total_cells, figure_lines
from cnnscope.render.units import fmt


def console(stream: TextIO, stderr: bool = False) -> Console:
    width = None if stream.isatty() else 240  # pipes and files: never squeeze to 80 columns
    return Console(file=stream, stderr=stderr, highlight=False, soft_wrap=False, width=width)


def print_table(report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None:
    con = console(out)
    caption = f"input {fmt(list(report.input_shape), 'shape')}"
    totals = _total_cells(report)
    t = Table(
        title=title or report.model,
        caption=caption,
        show_footer=any(totals[1:]),
        header_style="bold",
        footer_style="bold",
    )
    for c, foot in zip(report.columns, totals):
        t.add_column(
            c.title, footer=foot, justify="left" if c.unit in ("text", "shape") else "right", no_wrap=c.unit != "text"
        )
    for row in report.rows:
        t.add_row(*(Text(c) for c in _cells(report, row)))
    con.print(t)
    for label, value in figure_lines(report):
        con.print(Text(f"{label}: {value}"))
    for note in report.notes:
        con.print(f"[dim]note:[/] {escape(note)}")
    print_warnings(report, err)


def print_warnings(report: Report, err: TextIO) -> None:
    if not report.warnings:
        return
    econ = console(err, stderr=True)
    for w in report.warnings:
        econ.print(f"[yellow]warning\\[{escape(w.kind)}][/]: {escape(w.message)}")
        if w.loc is not None:
            econ.print(Text(f"  --> {w.loc}"))
