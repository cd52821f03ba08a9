"""The expansion's names: a scope per block instance (``_Scope``), a reference not yet
resolved (``_Ref``: forward references are allowed), a layer made but not yet a node
(``_Pending``), and ``_resolve``, which follows references to the global name they bind."""

from __future__ import annotations

from typing import Any

from cnnscope.errors import Location, SpecError, did_you_mean
from cnnscope.frontends.yaml.yamlio import LMap
from cnnscope.graph import INPUT
from cnnscope.layers.base import Layer

# The loader's own records are plain classes: a dataclass generates and compiles its methods
# when this module is imported, which every analytic command pays for.


class _Ref:
    """A not-yet-resolved name in a scope (forward references are allowed). Its location is
    given, or is the value of ``key`` in the entry ``at``, made when an error asks for it."""

    __slots__ = ("_loc", "at", "key", "name", "scope")

    def __init__(self, scope: _Scope, name: str, loc: Location | None, key: str = "from", at: LMap | None = None):
        self.scope, self.name, self._loc, self.key, self.at = scope, name, loc, key, at

    @property
    def loc(self) -> Location | None:
        return self.at.val_loc(self.key) if self.at is not None else self._loc


class _Scope:
    __slots__ = ("block", "counters", "names", "prefix")

    def __init__(self, prefix: str, block: str | None = None) -> None:
        self.prefix = prefix  # "" at top level, "layer1.0." inside an instance
        self.names: dict[str, Any] = {}  # local name -> global name or _Ref
        self.counters: dict[str, int] = {}
        self.block = block


class _Pending:
    __slots__ = ("block", "inputs", "layer", "loc", "name", "shares")

    def __init__(
        self, name: str, layer: Layer, inputs: list[Any], loc: Location | None, block: str | None, shares: Any = None
    ) -> None:
        self.name, self.layer, self.loc, self.block = name, layer, loc, block
        self.inputs = inputs  # global names or _Ref
        self.shares = shares  # `shares:` a layer whose parameters this one reuses (global name or _Ref)


def _resolve(x: Any, seen: set[int] | None = None) -> str:
    if x.__class__ is _Ref:  # the common case: a name its scope binds to a layer
        y = x.scope.names.get(x.name)
        if y.__class__ is str:
            return y
    seen = set() if seen is None else seen
    while isinstance(x, _Ref):
        if id(x) in seen:
            raise SpecError("cycle", f"`from: {x.name}` refers back to itself", x.loc)
        seen.add(id(x))
        if x.name == INPUT and INPUT not in x.scope.names:
            return INPUT
        if x.name not in x.scope.names:
            known = [n for n in x.scope.names if not n.startswith("_")]
            raise SpecError(
                "dangling-input" if x.key == "from" else f"dangling-{x.key}",
                f"`{x.key}: {x.name}` names no layer" + did_you_mean(x.name, [*known, INPUT]),
                x.loc,
                "inside a block, names refer to that block's own layers and its inputs" if x.scope.block else None,
            )
        x = x.scope.names[x.name]
    return str(x)
