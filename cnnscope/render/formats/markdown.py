"""Markdown for pull-request comments and docs: headings, pipe tables (numbers right-aligned),
bullets, quoted notes, and diagnostics as a list with their reason and fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from cnnscope.analyze.base import Report
from cnnscope.diagnostics import Diagnostic
from cnnscope.render.cells import cells, figure_lines, total_cells
from cnnscope.render.document import Document, Field, Table, Text
from cnnscope.render.units import fmt, get_path


def report(report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None:
    out.write(report_text(report, title))


def report_text(report: Report, title: str | None = None) -> str:
    lines = [
        f"### {title or report.model}",
        "",
        f"Input {fmt(list(report.input_shape), 'shape')} (batch included).",
        "",
    ]
    lines.append("| " + " | ".join(c.title for c in report.columns) + " |")
    lines.append("|" + "|".join("---:" if c.unit not in ("text",) else "---" for c in report.columns) + "|")
    for row in report.rows:
        lines.append("| " + " | ".join(cell(x) for x in cells(report, row)) + " |")
    lines.append("| " + " | ".join(f"**{x}**" if x else "" for x in total_cells(report)) + " |")
    figs = figure_lines(report)
    if figs:
        lines.append("")
        lines.extend(f"- {label}: **{value}**" for label, value in figs)
    if report.warnings:
        lines.append("")
        for w in report.warnings:
            where = f" (`{w.layer}`)" if w.layer else ""
            lines.append(f"- ⚠️ {w.message}{where}")
    if report.notes:
        lines.append("")
        lines.extend(f"> {n}" for n in report.notes)
    return "\n".join(lines) + "\n"


def document(doc: Document, out: TextIO, err: TextIO) -> None:
    out.write(document_text(doc))


def document_text(doc: Document) -> str:
    """Blocks in order; consecutive bullets (or notes, or diagnostics) form one list, and
    a blank line parts everything else."""
    chunks: list[tuple[str, list[str]]] = []  # (kind, lines)

    def add(kind: str, lines: list[str]) -> None:
        if chunks and kind in ("bullet", "note", "diagnostic") and chunks[-1][0] == kind:
            chunks[-1][1].extend(lines)
        else:
            chunks.append((kind, lines))

    for b in doc.blocks:
        if isinstance(b, Table):
            add("table", table_lines(b))
        elif isinstance(b, Diagnostic):
            add("diagnostic", diagnostic_lines(b))
        elif b.kind != "terminal":
            add(b.kind, [text_line(b)])
    if doc.summary:
        add("line", [doc.summary])
    return "\n\n".join("\n".join(lines) for _, lines in chunks) + "\n" if chunks else ""


def text_line(t: Text) -> str:
    if t.kind == "heading":
        return "#" * (t.level or 3) + " " + t.text
    if t.kind == "bullet":
        return "  " * t.level + "- " + t.text
    if t.kind == "note":
        return "> " + t.text
    if t.kind == "caption":
        return f"_{t.text}_"
    return t.text


def table_lines(t: Table) -> list[str]:
    lines = [f"#### {t.title}", ""] if t.title else []
    fields: Sequence[Field] = t.fields
    lines.append("| " + " | ".join(cell(f.title) for f in fields) + " |")
    lines.append("|" + "|".join("---:" if f.justify == "right" else "---" for f in fields) + "|")
    for row in t.rows:
        lines.append("| " + " | ".join(_cell(f, row) for f in fields) + " |")
    if t.caption:
        lines += ["", f"_{t.caption}_"]
    return lines


def _cell(f: Field, row: Mapping[str, Any]) -> str:
    text = fmt(get_path(row, f.key), f.unit_of(row))
    return f"`{text}`" if f.code and text else cell(text)


def diagnostic_lines(d: Diagnostic) -> list[str]:
    head = f"- **{d.severity}** `{d.id}`"
    if d.subject:
        head += f" `{d.subject}`"
    if d.location is not None:
        head += f" at {d.location}"
    lines = [f"{head}: {inline(d.message)}"]
    if d.why:
        lines.append(f"  - why: {inline(d.why)}")
    if d.fix:
        lines.append(f"  - help: {inline(d.fix)}")
    return lines


def inline(text: str) -> str:
    return " ".join(text.split("\n"))


def cell(text: str) -> str:
    """Text in a table cell: a pipe escaped, a line break a space."""
    return inline(text).replace("|", "\\|")
