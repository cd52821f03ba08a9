"""cnnscope: what a convolutional network costs and sees, before you train it.

Public API (small; re-exports only)::

    import cnnscope
    g = cnnscope.load("resnet18")             # a spec file, a built-in name, or pkg.mod:Net
    r = cnnscope.analyze(g, batch=8)          # a Report: rows per layer, totals, warnings
    r.totals["params"]

    cnnscope.summary(model, input_size=(1, 3, 224, 224))   # an nn.Module you hold (torchinfo's call)
    cnnscope.flops("resnet18").to_pandas()                  # or a source; also params, memory, rf, shapes
    cnnscope.check_budget(model, input_size=(3, 32, 32), max_params="12M").ok
"""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Report, analyze
from cnnscope.api import ModelReport, check_budget, flops, memory, params, rf, shapes, summary
from cnnscope.errors import CnnscopeError, ShapeError, SourceError, SpecError, UsageError
from cnnscope.frontends.sources import load
from cnnscope.frontends.yaml.loader import load_spec
from cnnscope.graph import Graph, Node

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # the budget helpers load the budget machinery only when a test suite asks for them
    if name == "assert_within_budget":
        from cnnscope import testing

        return getattr(testing, name)
    raise AttributeError(f"module 'cnnscope' has no attribute {name!r}")


__all__ = [
    "CnnscopeError",
    "Graph",
    "ModelReport",
    "Node",
    "Report",
    "ShapeError",
    "SourceError",
    "SpecError",
    "UsageError",
    "analyze",
    "assert_within_budget",
    "check_budget",
    "flops",
    "load",
    "load_spec",
    "memory",
    "params",
    "rf",
    "shapes",
    "summary",
]
