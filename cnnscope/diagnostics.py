"""One diagnostic type for everything cnnscope tells a user about their model or command.

An error (:class:`cnnscope.errors.CnnscopeError`), a lint finding, a budget check that
fails and a warning are all a :class:`Diagnostic`: an id, a severity, where, what, why and
what to do. Every output format writes this one type (``cnnscope.render``), so a finding
reads the same in a terminal, in JSON and as a GitHub annotation.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from cnnscope.records import Record, record

SEVERITIES = ("info", "warning", "error")
MAX_QUOTE = 1000  # characters a diagnostic's message, location or hint may show


def severity_rank(severity: str) -> int:
    """``info`` < ``warning`` < ``error``."""
    return SEVERITIES.index(severity)


def clip(text: str, limit: int = MAX_QUOTE) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


class Location(NamedTuple):
    """A place in a source file; ``line`` and ``col`` are 1-based. (A tuple: cheap to make,
    and a spec of 100,000 layers makes a million of them.)"""

    file: str | None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [_shown_file(self.file)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


def _shown_file(file: str | None) -> str:
    """A built-in spec's file as ``builtin:NAME`` (not this machine's install path)."""
    if not file:
        return "<input>"
    if file.endswith((".yaml", ".yml")) and _builtin_dir(file):
        stem = file.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return f"builtin:{stem}"
    return file


def _builtin_dir(file: str) -> bool:
    """Whether ``file`` lies in the built-in specs folder (``specs/`` beside the package, or
    ``cnnscope/specs`` installed)."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.dirname(os.path.abspath(file))
    return folder in (os.path.join(here, "specs"), os.path.join(os.path.dirname(here), "specs"))


@record
class Diagnostic(Record):
    """``id`` is a short kebab-case name scripts can match on (``unknown-field``,
    ``stride-skips-input``, ``params``); ``subject`` is what it is about (a layer, a budget
    figure) when that is not the location itself."""

    id: str
    severity: str
    message: str
    location: Location | None = None
    subject: str | None = None
    why: str = ""
    fix: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"diagnostic `{self.id}`: severity must be one of {SEVERITIES}, not {self.severity!r}")

    def text(self) -> str:
        """The one text form: ``severity[id]: message``, then ``-->`` where, ``why:`` and
        ``help:`` lines; each part quotes at most :data:`MAX_QUOTE` characters."""
        lines = [f"{self.severity}[{self.id}]: {clip(self.message)}"]
        if self.location is not None:
            lines.append(f"  --> {clip(str(self.location))}")
        if self.why:
            lines.append(f"  why: {clip(self.why)}")
        if self.fix:
            lines.append(f"  help: {clip(self.fix)}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "id": self.id,
            "severity": self.severity,
            "message": self.message,
            "location": None if loc is None else {"file": loc.file, "line": loc.line, "column": loc.col},
            "subject": self.subject,
            "why": self.why,
            "fix": self.fix,
        }
