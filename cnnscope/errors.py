"""One exception family for everything a user can get wrong.

Library code raises these; only the CLI (``cnnscope.cli.main``) catches them, prints one
diagnostic to stderr and exits with :attr:`CnnscopeError.exit_code`.
"""

from __future__ import annotations

from collections.abc import Iterable

# re-exported: errors are located, and their text form is the diagnostic's
from cnnscope.diagnostics import MAX_QUOTE as MAX_QUOTE
from cnnscope.diagnostics import Diagnostic as Diagnostic
from cnnscope.diagnostics import Location as Location
from cnnscope.diagnostics import clip as clip


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

    def diagnostic(self) -> Diagnostic:
        """This error as the one diagnostic type every output format writes."""
        return Diagnostic(self.kind, "error", self.message, self.loc, fix=self.hint or "")

    def render(self) -> str:
        """The diagnostic's text; each part quotes at most :data:`MAX_QUOTE` characters."""
        return self.diagnostic().text()

    def __str__(self) -> str:
        return self.render()


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
    import difflib  # here: only a mistake needs it, and every command imports this module

    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" (did you mean `{close[0]}`?)"
    return " (did you mean " + ", ".join(f"`{c}`" for c in close) + "?)"
