"""CSV for spreadsheets and scripts: one header row of keys, then raw values (no units), as
``csv.writer`` quotes them. A document writes one table (see ``Document.csv_table``)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, TextIO

from cnnscope.analyze.base import Report
from cnnscope.render.cells import csv_value

if TYPE_CHECKING:
    from cnnscope.render.document import Document
from cnnscope.render.units import get_path


def report(report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None:
    out.write(report_text(report))


def report_text(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.key for c in report.columns])
    for row in report.rows:
        w.writerow([csv_value(get_path(row, c.key), c.unit) for c in report.columns])
    return buf.getvalue()


def document(doc: Document, out: TextIO, err: TextIO) -> None:
    table = doc.csv_table()
    if table is None:
        return
    fields = table.csv_fields if table.csv_fields is not None else table.fields
    w = csv.writer(out, lineterminator="\n")
    w.writerow([f.key for f in fields])
    for row in table.rows:
        w.writerow([csv_value(get_path(row, f.key)) for f in fields])
