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

from cnnscope.layers.base import Layer, ParamCount, RFKind, RFMap, Shape, Step, Window, lookup, register, registry
from cnnscope.modules import import_all


def load_families() -> None:
    """Import every family module (each registers its types), in name order."""
    import_all(__name__, __path__, skip=("base", "fields", "window"))


__all__ = ["Layer", "ParamCount", "RFKind", "RFMap", "Shape", "Step", "Window", "lookup", "register", "registry"]
