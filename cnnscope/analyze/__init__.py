"""Analyzers: one small module per analysis, each a walk over the layer graph.

Every module in this package is imported here, so adding an analysis means adding a
module that registers itself with :func:`cnnscope.analyze.base.analyzer`; a module whose name
starts with ``_`` holds part of one, which that analysis imports when it needs it.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from cnnscope.analyze.base import Column, Context, Report, analyze, analyzer, analyzers

for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _m.name != "base" and not _m.name.startswith("_"):
        import_module(f"{__name__}.{_m.name}")

__all__ = ["Column", "Context", "Report", "analyze", "analyzer", "analyzers"]
