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
LAYER = (("name", "layer", "text"), ("type", "type", "text"), ("output_shape", "output shape", "shape"))


def fields(report: Report, styled: bool = False) -> list[Field]:
    """One field per report column, laid out as the report's own table lays it out."""
    bold = {"styles": {True: "bold"}, "style_by": TOTAL} if styled else {}
    return [
        Field(
            c.key,
            c.title,
            c.unit,
            priority=NEVER if j == 0 else PRIORITY.get(c.key, 50),
            wrap=c.unit == "text",
            min_width=16 if j == 0 else 11,
            **bold,  # type: ignore[arg-type]
        )
        for j, c in enumerate(report.columns)
    ]


def total_row(report: Report) -> dict[str, Any] | None:
    """The totals under the columns that have one (None when no column has)."""
    cols = report.columns
    values = {c.key: get_path(report.totals, c.key) for c in cols[1:] if c.total}
    if not cols or all(v is None for v in values.values()):
        return None
    row: dict[str, Any] = {TOTAL: True, cols[0].key: "total"}
    for key, v in values.items():
        head, *rest = key.split(".")
        if not rest:
            row[head] = v
        else:  # a dotted key reads a nested row
            node = row.setdefault(head, {})
            for part in rest[:-1]:
                node = node.setdefault(part, {})
            node[rest[-1]] = v
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
    out += [Text(f"{label}: {value}") for label, value in figure_lines(report)]
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
