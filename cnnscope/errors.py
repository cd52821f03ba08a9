"""One exception family for everything a user can get wrong.

Library code raises these; only the CLI (``cnnscope.cli.main``) catches them, prints one
diagnostic to stderr and exits with :attr:`CnnscopeError.exit_code`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import NamedTuple


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


class CnnscopeError(Exception):
    """Base of every error cnnscope reports to a user.

    ``kind`` is a short kebab-case id (``unknown-field``, ``shape-mismatch``) that tests and
    scripts can match on; ``loc`` says where; ``hint`` says what to do about it.
    """

    exit_code = 2

    def __init__(
        self,
        kind: str,
        message: str,
        loc: Location | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.loc = loc
        self.hint = hint

    def with_loc(self, loc: Location | None) -> CnnscopeError:
        """Attach a location if the error has none yet."""
        if self.loc is None and loc is not None:
            self.loc = loc
        return self

    def render(self) -> str:
        """The diagnostic; each part quotes at most :data:`MAX_QUOTE` characters of its text."""
        lines = [f"error[{self.kind}]: {clip(self.message)}"]
        if self.loc is not None:
            lines.append(f"  --> {clip(str(self.loc))}")
        if self.hint:
            lines.append(f"  help: {clip(self.hint)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


MAX_QUOTE = 1000  # characters a diagnostic's message, location or hint may show


def clip(text: str, limit: int = MAX_QUOTE) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, as the CLI's SIGINT handler raises it: a KeyboardInterrupt raised by a user's
    module code instead is that code's failure, not an interruption."""


class SpecError(CnnscopeError):
    """The spec (YAML or module) is malformed or inconsistent."""


class ShapeError(SpecError):
    """A layer cannot accept the shape that reaches it."""


class UsageError(CnnscopeError):
    """The command line asks for something impossible."""


class SourceError(CnnscopeError):
    """A model source (file, built-in name, module path) cannot be resolved or loaded."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean `x`?)`` or the empty string (also for a word too long to be a typo)."""
    if len(word) > 100:
        return ""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" (did you mean `{close[0]}`?)"
    return " (did you mean " + ", ".join(f"`{c}`" for c in close) + "?)"
