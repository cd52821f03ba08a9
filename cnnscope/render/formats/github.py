"""GitHub Actions workflow commands: one annotation per diagnostic (``::error file=..,
line=..::``), pointed at the spec line it concerns, then the document's verdict line.

Escaping follows the workflow-command rules: in the message ``%``, CR and LF are
percent-encoded; in a property value ``:`` and ``,`` too. A file is written relative to the
working directory when it lies under it (the checkout, in a workflow)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from cnnscope.analyze.base import Report
from cnnscope.diagnostics import Diagnostic

if TYPE_CHECKING:
    from cnnscope.render.document import Document

LEVEL = {"info": "notice", "warning": "warning", "error": "error"}


def report(report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None:
    """A report's warnings as annotations (its figures are for the other formats)."""
    write(out, (w.diagnostic() for w in report.warnings))


def document(doc: Document, out: TextIO, err: TextIO) -> None:
    write(out, doc.diagnostics)
    if doc.summary:
        out.write(doc.summary + "\n")


def write(out: TextIO, diags: Iterable[Diagnostic]) -> None:
    for d in diags:
        out.write(annotation(d) + "\n")


def annotation(d: Diagnostic) -> str:
    props = []
    loc = d.location
    if loc is not None and loc.file and not loc.file.startswith("<"):
        props.append(f"file={escape_property(relative(loc.file))}")
        if loc.line is not None:
            props.append(f"line={loc.line}")
            if loc.col is not None:
                props.append(f"col={loc.col}")
    title = f"cnnscope {d.id}" + (f" ({d.subject})" if d.subject else "")
    props.append(f"title={escape_property(title)}")
    return f"::{LEVEL[d.severity]} {','.join(props)}::{escape_data(d.text())}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def relative(path: str) -> str:
    """``path`` relative to the working directory when it lies under it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel
