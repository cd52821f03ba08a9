"""Cost against input size (``cnnscope sweep``) as a document: one row per size, then the exact
formula and a chart of MACs and training memory against size."""

from __future__ import annotations

from cnnscope.analyze.base import Report
from cnnscope.render.document import Document, Text
from cnnscope.render.sweep_text import chart_lines, formula_lines
from cnnscope.render.views import report as shown


def lines(report: Report) -> list[str]:
    """The formula block and the two charts, as plain lines."""
    memory = f"training memory ({report.meta['optimizer']}, {report.meta['dtype']})"
    out = formula_lines(report.meta, report.rows)
    out += ["", *chart_lines(report.rows, "macs", "macs", "MACs")]
    out += ["", *chart_lines(report.rows, "training_bytes", "bytes", memory)]
    return out


def document(report: Report) -> Document:
    """``report``: ``cnnscope.whatif.sweep.sweep``'s (one row per size, the formulas in its meta)."""
    text = lines(report)
    more = [*shown.terminal([(line, "") for line in text]), Text("```\n" + "\n".join(text) + "\n```", "markdown")]
    return shown.document(report, shown.data(report), f"sweep: {report.model}", more)
