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
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


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
        lines = [f"error[{self.kind}]: {self.message}"]
        if self.loc is not None:
            lines.append(f"  --> {self.loc}")
        if self.hint:
            lines.append(f"  help: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class SpecError(CnnscopeError):
    """The spec (YAML or module) is malformed or inconsistent."""


class ShapeError(SpecError):
    """A layer cannot accept the shape that reaches it."""


class UsageError(CnnscopeError):
    """The command line asks for something impossible."""


class SourceError(CnnscopeError):
    """A model source (file, built-in name, module path) cannot be resolved or loaded."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean `x`?)`` or the empty string."""
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" (did you mean `{close[0]}`?)"
    return " (did you mean " + ", ".join(f"`{c}`" for c in close) + "?)"
