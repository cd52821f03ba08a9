"""The lint rules, one per module: a function decorated with
:func:`cnnscope.learn.lint.base.rule`. Adding a rule is one file here (every module in this
package is imported) and a spec under ``tests/lint_specs/`` that triggers it."""

from __future__ import annotations

import pkgutil
from importlib import import_module

_LOADED = False


def load() -> None:
    """Import every rule module once (each registers its rule)."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            import_module(f"{__name__}.{m.name}")
