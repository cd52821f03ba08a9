"""Layer types, one family per module. ``registry()`` imports every family module, which
registers its types; ``lookup()`` of a type whose family is imported already needs no more (the
YAML loader imports only the families a spec uses: importing them all is most of an analytic
command's start-up).

To add a layer type: write a class decorated with ``@register`` and ``@layer_dataclass`` (a
frozen, keyword-only dataclass; docs/architecture.md says which defaults of the contract
spare it code) in its family's module, or in a new module in this package
(``registry()`` imports every module here), and give it a hypothesis strategy in
``tests/strategies.py``: the property tests pick it up from the registry and fail for a
type that has none.
"""

from __future__ import annotations

import pkgutil
from importlib import import_module

from cnnscope.layers.base import Layer, ParamCount, RFKind, RFMap, Shape, Step, Window, lookup, register, registry


def load_families() -> None:
    """Import every family module (each registers its types), in name order."""
    for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not _m.name.startswith("_") and _m.name not in ("base", "fields", "window"):
            import_module(f"{__name__}.{_m.name}")


__all__ = ["Layer", "ParamCount", "RFKind", "RFMap", "Shape", "Step", "Window", "lookup", "register", "registry"]
