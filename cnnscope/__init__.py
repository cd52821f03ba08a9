"""cnnscope: what a convolutional network costs and sees, before you train it.

Public API (small; re-exports only)::

    import cnnscope
    g = cnnscope.load("resnet18")             # a spec file, a built-in name, or pkg.mod:Net
    r = cnnscope.analyze(g, batch=8)          # a Report: rows per layer, totals, warnings
    r.totals["params"]
"""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Report, analyze
from cnnscope.errors import CnnscopeError, ShapeError, SourceError, SpecError, UsageError
from cnnscope.graph import Graph, Node
from cnnscope.spec.loader import load_spec
from cnnscope.spec.sources import load

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # the budget helpers load the budget machinery only when a test suite asks for them
    if name in ("assert_within_budget", "check_budget"):
        from cnnscope import testing

        return getattr(testing, name)
    raise AttributeError(f"module 'cnnscope' has no attribute {name!r}")


__all__ = [
    "CnnscopeError",
    "Graph",
    "Node",
    "Report",
    "ShapeError",
    "SourceError",
    "SpecError",
    "UsageError",
    "analyze",
    "assert_within_budget",
    "check_budget",
    "load",
    "load_spec",
]
