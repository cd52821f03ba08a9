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

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# `import cnnscope` imports nothing else: each name loads its module on first use, so that
# `cnnscope shapes net.yaml` pays for the analytic path only, and a process that imports
# cnnscope beside torch pays for nothing it does not call
_LAZY = {
    "CnnscopeError": "cnnscope.errors",
    "ShapeError": "cnnscope.errors",
    "SourceError": "cnnscope.errors",
    "SpecError": "cnnscope.errors",
    "UsageError": "cnnscope.errors",
    "Graph": "cnnscope.graph",
    "Node": "cnnscope.graph",
    "Report": "cnnscope.analyze.base",
    "ModelReport": "cnnscope.api",
    "check_budget": "cnnscope.api",
    "compare": "cnnscope.api",
    "flops": "cnnscope.api",
    "memory": "cnnscope.api",
    "params": "cnnscope.api",
    "rf": "cnnscope.api",
    "shapes": "cnnscope.api",
    "summary": "cnnscope.api",
    "load": "cnnscope.frontends.sources",
    "load_spec": "cnnscope.frontends.yaml.loader",
    "assert_within_budget": "cnnscope.testing",  # the budget machinery, for test suites
}

if TYPE_CHECKING:
    from cnnscope.analyze.base import Report, analyze
    from cnnscope.api import ModelReport, check_budget, compare, flops, memory, params, rf, shapes, summary
    from cnnscope.errors import CnnscopeError, ShapeError, SourceError, SpecError, UsageError
    from cnnscope.frontends.sources import load
    from cnnscope.frontends.yaml.loader import load_spec
    from cnnscope.graph import Graph, Node
    from cnnscope.testing import assert_within_budget


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cnnscope' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "analyze"})


class _Package(types.ModuleType):
    """``cnnscope.analyze`` is the function, as it always was, although a subpackage has that
    name too: importing the subpackage binds its name here, and this keeps the function."""

    @property
    def analyze(self) -> Any:
        from cnnscope.analyze.base import analyze

        return analyze

    @analyze.setter
    def analyze(self, value: Any) -> None:
        pass


sys.modules[__name__].__class__ = _Package


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
    "compare",
    "flops",
    "load",
    "load_spec",
    "memory",
    "params",
    "rf",
    "shapes",
    "summary",
]
