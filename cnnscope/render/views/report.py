"""An analysis :class:`~cnnscope.analyze.base.Report` as the blocks of a document, for the
commands that print a report's table and more beside it (memory, rf, shift, sweep).

The table keeps the report's layout (its columns, their priorities and widths, the input
caption, the figures and notes beneath); the totals, which a report writes as the table's
footer, are a last row in bold; the warnings are the document's diagnostics. A CSV holds the
layer rows alone; the JSON is the report's own document and what the command adds to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnscope.analyze.base import Column, Report
from cnnscope.render.cells import PRIORITY, figure_lines
from cnnscope.render.document import NEVER, Block, Document, Field, Table, Text
from cnnscope.render.units import fmt, get_path

TOTAL = "_total"  # the key that marks the totals row
BLANK = "_blank:"  # BLANK + key: the totals row has nothing under that column
TEXT_UNITS = ("text", "shape")
LAYER = (("name", "layer", "text"), ("type", "type", "text"), ("output_shape", "output shape", "shape"))


def fields(report: Report, styled: bool = False) -> list[Field]:
    """One field per report column, laid out as the report's own table lays it out (``styled``:
    the totals row in bold, blank under a column with no total)."""
    out = []
    for j, c in enumerate(report.columns):
        extra: dict[str, Any] = {"styles": {True: "bold"}, "style_by": TOTAL} if styled else {}
        if styled and c.unit not in TEXT_UNITS:
            extra["unit_by"] = BLANK + c.key
        prio = NEVER if j == 0 else PRIORITY.get(c.key, 50)
        out.append(
            Field(c.key, c.title, c.unit, priority=prio, wrap=c.unit == "text", min_width=16 if j == 0 else 11, **extra)
        )
    return out


def total_row(report: Report) -> dict[str, Any] | None:
    """The totals under the columns that have one, blank under the others (None when no
    column has a total)."""
    cols = report.columns
    values = {c.key: get_path(report.totals, c.key) if c.total else None for c in cols[1:]}
    if not cols or all(v is None for v in values.values()):
        return None
    row: dict[str, Any] = {TOTAL: True, cols[0].key: "total"}
    for c in cols[1:]:
        v = values[c.key]
        if v is None:
            v = ""
            row[BLANK + c.key] = "text"
        head, *rest = c.key.split(".")
        node = row
        for part in [head, *rest][:-1]:  # a dotted key reads a nested row
            node = node.setdefault(part, {})
        node[[head, *rest][-1]] = v
    return row


def layer_table(report: Report, title: str | None = None) -> Table:
    """The report's rows (and its totals row), titled, captioned with the input shape."""
    total = total_row(report)
    rows = [*report.rows, total] if total is not None else list(report.rows)
    caption = f"input {fmt(list(report.input_shape), 'shape')}"
    return Table(fields(report, styled=total is not None), rows, title=title or report.model, caption=caption)


def csv_table(report: Report) -> Table:
    """The layer rows a CSV holds: one column per report column, no totals row."""
    return Table(fields(report), report.rows)


def blocks(report: Report, title: str | None = None) -> list[Block]:
    """The table, then the whole-model figures and the notes (the warnings: :func:`warnings`)."""
    out: list[Block] = [layer_table(report, title)]
    out += [Text(f"{label}: {value}", "bullet") for label, value in figure_lines(report)]
    out += [Text(note, "note") for note in report.notes]
    return out


def warnings(report: Report) -> list[Block]:
    """The report's warnings as diagnostics (a document ends with them)."""
    return [w.diagnostic() for w in report.warnings]


def data(report: Report, **extra: Any) -> dict[str, Any]:
    """The report's JSON document, with what the command adds to it."""
    return {**Report.to_json(report), **extra}


def terminal(lines: list[tuple[str, str]]) -> list[Block]:
    """Lines of a chart, each with its style, that only a terminal shows (a blank one first)."""
    return [Text(text, "terminal", style) for text, style in [("", ""), *lines]]


def display(report: Report, rows: list[dict[str, Any]], columns: list[Column], notes: list[str]) -> Report:
    """A report of ``report``'s model with other rows and columns: what a command shows of it."""
    return Report(
        report.model, report.source, report.input_shape, report.batch, rows, columns, {}, report.warnings, notes
    )


def columns(*specs: tuple[str, str, str]) -> list[Column]:
    """(key, title, unit) each: the columns a command shows, with no totals under them."""
    return [Column(key, title, unit, total=False) for key, title, unit in specs]


def document(shown: Report, data: dict[str, Any], title: str | None = None, more: Sequence[Block] = ()) -> Document:
    """``shown``'s table and figures, then ``more`` (what the command adds), its warnings last;
    ``data``: the JSON document; the CSV holds ``shown``'s layer rows."""
    return Document([*blocks(shown, title), *more, *warnings(shown)], data, csv=csv_table(shown))
