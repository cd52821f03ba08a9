"""Layer types, one family per module. Importing this package registers them all.

To add a layer type: write a class decorated with ``@register`` and ``@layer_dataclass`` (a
frozen, keyword-only dataclass) in its family's module, or in a new module in this package
(every module here is imported), and give it a hypothesis strategy in
``tests/strategies.py``: the property tests pick it up from the registry and fail for a
type that has none.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from cnnscope.layers.base import Layer, ParamCount, RFKind, RFStep, Shape, Step, lookup, register, registry

for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _m.name.startswith("_") and _m.name not in ("base", "fields"):
        import_module(f"{__name__}.{_m.name}")

__all__ = ["Layer", "ParamCount", "RFKind", "RFStep", "Shape", "Step", "lookup", "register", "registry"]
