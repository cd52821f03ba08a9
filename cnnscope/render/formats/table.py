"""The table a person reads in a terminal (rich): laid out in the terminal's width, never
cutting a number, colour only on a terminal; in a pipe, every column at its natural width."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.text import Text as RichText

from cnnscope.analyze.base import Report
from cnnscope.diagnostics import Diagnostic
from cnnscope.render.document import Document, Table, Text
from cnnscope.render.layout import Col, console, fitted_table, hidden_line, width_of
from cnnscope.render.table import print_diagnostic, print_table
from cnnscope.render.units import compact, fmt, get_path


def report(report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None:
    print_table(report, out, err, title)


def document(doc: Document, out: TextIO, err: TextIO) -> None:
    con = console(out)
    for b in doc.blocks:
        if isinstance(b, Table):
            print_block_table(con, b)
        elif isinstance(b, Diagnostic):
            print_diagnostic(con, b)
        elif b.kind != "markdown":
            con.print(text(b))
    if doc.summary:
        con.print(RichText(doc.summary, style="bold"))


def text(t: Text) -> RichText:
    if t.kind == "note":
        return RichText.assemble(("note:", "dim"), " " + t.text)
    indent = "  " * t.level if t.kind == "bullet" else ""
    return RichText(indent + t.text, style=t.style or ("dim" if t.kind == "caption" else ""))


def print_block_table(con: Console, t: Table) -> None:
    cols = []
    for f in t.fields:
        full = [fmt(get_path(r, f.key), f.unit_of(r)) for r in t.rows]
        narrow = None if f.text else [compact(get_path(r, f.key), f.unit_of(r)) for r in t.rows]
        styles = None
        if f.styles or f.style:
            by_value = f.styles or {}
            styles = [by_value.get(get_path(r, f.style_by or f.key), f.style) for r in t.rows]
        cols.append(
            Col(
                f.title,
                full,
                compact_cells=narrow,
                priority=f.priority,
                wrap=f.wrap,
                min_width=f.min_width,
                max_width=f.max_width,
                justify=f.justify,
                styles=styles,
            )
        )
    args: dict[str, object] = {"title": t.title, "caption": t.caption, "header_style": "bold"}
    if not t.header:
        args["show_header"] = False
    if not t.boxed:
        args.update(box=None, padding=(0, 2, 0, 0), title_justify="left", caption_justify="left")
    table, lay = fitted_table(cols, width_of(con), **args)
    con.print(table)
    if lay.hidden:
        con.print(RichText(hidden_line(lay.hidden, lay.needed), style="dim"))
