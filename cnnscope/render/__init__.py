"""Everything cnnscope prints: units are formatted here only, and each output format is one
module in ``formats/`` (table, json, csv, markdown, github).

Commands hand their result here: an analysis :class:`~cnnscope.analyze.base.Report` to
:func:`render`, anything else as a :class:`~cnnscope.render.document.Document` (built by a
view in ``views/``) to :func:`emit`. A format is imported only when it is used.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from cnnscope.analyze.base import Report
from cnnscope.render.cells import figure_lines as figure_lines
from cnnscope.render.formats import FORMATS as FORMATS
from cnnscope.render.formats import emitter

if TYPE_CHECKING:
    from cnnscope.render.document import Document


def render(
    report: Report, fmt_name: str, out: TextIO | None = None, err: TextIO | None = None, title: str | None = None
) -> None:
    """Write ``report`` in the format ``fmt_name``."""
    emitter(fmt_name).report(report, out or sys.stdout, err or sys.stderr, title)


def emit(doc: Document, fmt_name: str, out: TextIO | None = None, err: TextIO | None = None) -> None:
    """Write ``doc`` in the format ``fmt_name``."""
    emitter(fmt_name).document(doc, out or sys.stdout, err or sys.stderr)


def to_json(report: Report) -> str:
    from cnnscope.render.formats.json import report_text

    return report_text(report)


def to_csv(report: Report) -> str:
    from cnnscope.render.formats.csv import report_text

    return report_text(report)


def to_markdown(report: Report, title: str | None = None) -> str:
    from cnnscope.render.formats.markdown import report_text

    return report_text(report, title)
