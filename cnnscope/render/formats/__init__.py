"""The output formats: one module per format, and every command writes every one.

A format is a module in this folder with two functions::

    def report(report: Report, out: TextIO, err: TextIO, title: str | None) -> None
    def document(doc: Document, out: TextIO, err: TextIO) -> None

``report`` writes an analysis report (its warnings, when they are not data, go to ``err``);
``document`` writes anything else a command produces (:mod:`cnnscope.render.document`):
budget checks, diffs, lint findings, catalogs, profiles. Adding a format is adding a module
here: the folder is listed, not imported, to know the names (so ``--format json`` never
loads rich), and :func:`emitter` imports the one asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Protocol, TextIO, cast

from cnnscope.modules import names

if TYPE_CHECKING:
    from cnnscope.analyze.base import Report
    from cnnscope.render.document import Document

ORDER = ("table", "json", "csv", "markdown", "github")  # how help lists them; others follow by name


class Emitter(Protocol):
    def report(self, report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None: ...

    def document(self, doc: Document, out: TextIO, err: TextIO) -> None: ...


def _names() -> tuple[str, ...]:
    found = {n for n in names(__path__) if not n.startswith("_")}
    return tuple([n for n in ORDER if n in found] + sorted(found - set(ORDER)))


FORMATS: tuple[str, ...] = _names()


def emitter(name: str) -> Emitter:
    """The format ``name`` (one of :data:`FORMATS`; the CLI checks the name before)."""
    if name not in FORMATS:
        raise ValueError(f"no output format `{name}`; formats: {', '.join(FORMATS)}")
    return cast(Emitter, import_module(f"{__name__}.{name}"))
