"""The command line: one module per command group, each attaching to ``app``.

Every module in this package other than app/common/main is imported here, so a new
command group is one new file.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from cnnscope.cli.app import app

_SKIP = {"app", "common", "main"}
for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _m.name not in _SKIP:
        import_module(f"{__name__}.{_m.name}")

__all__ = ["app"]
