"""The lint rules, one per module: a function decorated with
:func:`cnnscope.learn.lint.base.rule`. Adding a rule is one file here (every module in this
package is imported) and a spec under ``tests/lint_specs/`` that triggers it."""

from __future__ import annotations

from cnnscope.modules import import_all

_LOADED = False


def load() -> None:
    """Import every rule module once (each registers its rule)."""
    global _LOADED
    if not _LOADED:
        import_all(__name__, __path__)
        _LOADED = True  # after: a rule module that failed to import fails again, never half-loaded
