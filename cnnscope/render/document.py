"""The one shape a command's result takes on its way to an output format.

An analysis :class:`~cnnscope.analyze.base.Report` has its own emitters (the goldens pin
them); everything else a command prints -- a budget check, a diff, lint findings, the zoo,
the layer catalog, a profile, explanations -- is a :class:`Document`:

- ``blocks``, what a person reads, in order: :class:`Text` lines (headings, notes,
  bullets), :class:`Table`\\ s of plain values with :class:`Field`\\ s that say how to show
  them, and :class:`~cnnscope.diagnostics.Diagnostic`\\ s;
- ``data``, the same facts for a program: the JSON document (the json format adds the one
  ``schema_version``);
- ``summary``, the verdict line the human formats end with;
- ``csv``, the table a CSV holds (default: the first table in ``blocks``; with no table,
  the diagnostics).

Views (``cnnscope.render.views``) build documents from what the domain returns; formats
(``cnnscope.render.formats``) write them. Neither knows the other's details.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Any

from cnnscope.diagnostics import Diagnostic
from cnnscope.records import MutableRecord, Record, mutable_record, record

NEVER = 10**6  # the priority of a field that a narrow terminal never hides


@record
class Field(Record):
    """One column: ``key`` is a dotted path into a row (``rf.size``), ``unit`` picks the
    formatter (:data:`cnnscope.render.units.FORMATTERS`), or ``unit_by`` names the row key
    that holds each row's unit. ``priority``: higher stays longer when a terminal is narrow;
    ``wrap``: prose that may wrap (numbers never do). ``styles`` colours a cell in a terminal
    by the value of ``style_by`` (default: the cell's own value); ``code``: a name that
    markdown writes as code."""

    key: str
    title: str
    unit: str = "text"
    unit_by: str | None = None
    priority: int = 50
    wrap: bool = False
    min_width: int = 8
    max_width: int | None = None  # prose wraps at this width even where there is room
    align: str | None = None  # "left" | "right"; default: left for text, right for numbers
    styles: Mapping[Any, str] | None = None
    style_by: str | None = None
    code: bool = False  # a name or an identifier: markdown writes it as `code`
    style: str = ""  # a terminal style for every cell of the column (bold, dim)

    def unit_of(self, row: Mapping[str, Any]) -> str:
        if self.unit_by is not None:
            return str(row.get(self.unit_by) or self.unit)
        return self.unit

    @property
    def text(self) -> bool:
        return self.unit_by is None and self.unit in ("text", "shape")

    @property
    def justify(self) -> str:
        return self.align or ("left" if self.text else "right")


@mutable_record
class Table(MutableRecord):
    """A titled table of rows (plain values). ``csv_fields``: the columns a CSV writes, when
    they are not the ones a person reads (raw figures instead of composed text)."""

    fields: Sequence[Field]
    rows: Sequence[Mapping[str, Any]]
    title: str | None = None
    caption: str | None = None
    csv_fields: Sequence[Field] | None = None
    header: bool = True  # a terminal shows the titles (markdown always writes them)
    boxed: bool = True  # a terminal draws the box; False: aligned columns only


# What a line of text is, which each format writes its own way: a markdown heading, a
# bullet, a quoted note, an italic caption, plain; ``markdown`` is raw markdown that only
# the markdown format writes (a mermaid chart), ``terminal`` a line only the table writes.
KINDS = ("line", "heading", "bullet", "note", "caption", "markdown", "terminal")


@record
class Text(Record):
    text: str
    kind: str = "line"
    style: str = ""  # a terminal style: dim, bold, red, yellow...
    level: int = 0  # heading: 3 (###) or 4; bullet: nesting depth

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"text kind must be one of {KINDS}, not {self.kind!r}")


def heading(text: str, level: int = 3) -> Text:
    return Text(text, "heading", "bold", level)


Block = Text | Table | Diagnostic


@mutable_record
class Document(MutableRecord):
    blocks: list[Block] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None
    csv: Table | None = None

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [b for b in self.blocks if isinstance(b, Diagnostic)]

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def csv_table(self) -> Table | None:
        """The table a CSV holds: ``csv``, else the first table, else the diagnostics."""
        if self.csv is not None:
            return self.csv
        if self.tables:
            return self.tables[0]
        if self.diagnostics:
            return diagnostics_table(self.diagnostics)
        return None

    @staticmethod
    def later(
        build: Callable[[], tuple[list[Block], Table | None]], data: dict[str, Any], summary: str | None = None
    ) -> Document:
        """A document whose ``blocks`` and ``csv`` table ``build`` makes the first time a format
        reads either: a view whose blocks cost real time (explain: a table per layer) then
        costs the json format, which writes ``data`` alone, nothing more."""
        return _Later(build, data, summary)


class _Later(Document):
    def __init__(
        self, build: Callable[[], tuple[list[Block], Table | None]], data: dict[str, Any], summary: str | None
    ) -> None:
        self._build: Callable[[], tuple[list[Block], Table | None]] | None = build
        self._parts: tuple[list[Block], Table | None] = ([], None)
        self.data, self.summary = data, summary

    def _made(self) -> tuple[list[Block], Table | None]:
        if self._build is not None:
            self._parts, self._build = self._build(), None
        return self._parts

    @property
    def blocks(self) -> list[Block]:
        return self._made()[0]

    @blocks.setter
    def blocks(self, value: list[Block]) -> None:
        self._parts, self._build = (value, self._made()[1]), None

    @property
    def csv(self) -> Table | None:
        return self._made()[1]

    @csv.setter
    def csv(self, value: Table | None) -> None:
        self._parts, self._build = (self._made()[0], value), None


DIAGNOSTIC_FIELDS = (
    Field("id", "id"),
    Field("severity", "severity"),
    Field("subject", "subject"),
    Field("file", "file"),
    Field("line", "line", "count"),
    Field("column", "column", "count"),
    Field("message", "message", wrap=True),
    Field("why", "why", wrap=True),
    Field("fix", "fix", wrap=True),
)


def diagnostics_table(diags: Sequence[Diagnostic]) -> Table:
    """One row per diagnostic, its location split into file, line and column."""
    rows = []
    for d in diags:
        loc = d.location
        rows.append(
            {
                "id": d.id,
                "severity": d.severity,
                "subject": d.subject,
                "file": loc.file if loc else None,
                "line": loc.line if loc else None,
                "column": loc.col if loc else None,
                "message": d.message,
                "why": d.why,
                "fix": d.fix,
            }
        )
    return Table(DIAGNOSTIC_FIELDS, rows)


def diagnostics_document(diags: Sequence[Diagnostic], data: dict[str, Any] | None = None) -> Document:
    """A list of diagnostics as a document (lint findings, warnings)."""
    return Document(list(diags), data if data is not None else {"diagnostics": [d.to_json() for d in diags]})
