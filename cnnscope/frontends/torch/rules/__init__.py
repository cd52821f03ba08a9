"""Capture rules: how a torch call becomes a cnnscope layer.

A rule is a function registered for one or more op names (``conv2d``, ``view``, ``add``...;
see :func:`op_name` for how functions, tensor methods and operators are named) or for a
``torch.nn`` class. It receives a :class:`Call` — the bound arguments, the shapes of the data
inputs, the measured output shapes — and returns a :class:`Mapped` (the layer, or one layer
per output for ops such as ``chunk``, or a short chain), or ``None`` when it cannot map this
call (the node is then opaque, its cost measured by the dispatcher).

The registry refuses two rules for one op, as the layer registry refuses two types for one
name. Adding an op is one file in this package: every module here is imported.
Modules of a registered layer type whose fields are attributes of the torch class
(``nn.Conv2d``, ``nn.ReLU``...) need no rule: ``leaves.py`` reads them by ``torch_name``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cnnscope.errors import CnnscopeError
from cnnscope.frontends.yaml.loader import make_layer
from cnnscope.layers.base import Layer, Shape, registry
from cnnscope.modules import import_all

VARARGS = "*"  # a signature entry "*name" collects the remaining positional arguments


@dataclass
class Call:
    """One torch call, as a rule sees it."""

    op: str
    args: dict[str, Any]  # bound by the rule's signature; tensors are torch tensors
    ins: list[Shape]  # shapes of the data inputs, in the order they appear in the arguments
    data: list[Any]  # the data input tensors themselves (same order)
    outs: list[Shape]  # measured output shapes (tensor outputs only, in order)
    params: dict[str, Any] = field(default_factory=dict)  # argument name -> parameter tensor (not data)
    fixed: list[bool] = field(default_factory=list)  # per data input: its shape does not follow the batch

    def follows_batch(self, k: int) -> bool:
        """Whether data input ``k`` carries the batch (not a parameter or a constant's fixed shape)."""
        return not (k < len(self.fixed) and self.fixed[k])

    @property
    def out(self) -> Shape:
        return self.outs[0]

    @property
    def rank(self) -> int:
        return len(self.ins[0])

    def is_data(self, value: Any) -> bool:
        return any(value is t for t in self.data)

    def is_tensor(self, value: Any) -> bool:
        return hasattr(value, "shape") and hasattr(value, "dtype")


@dataclass
class Mapped:
    """What a rule gives: ``layers`` in a chain (each feeding the next), or one per output
    when ``per_output``; ``params`` are the parameter tensors the layer counts (a conv's
    weight and bias). ``inputs``: which data inputs (indices into ``Call.data``) feed the
    first layer, when not all of them; ``joins`` gives a later layer of the chain further data
    inputs (a linear's computed bias added after it)."""

    layers: list[Layer]
    params: list[Any] = field(default_factory=list)
    per_output: bool = False
    inputs: list[int] | None = None
    joins: dict[int, list[int]] = field(default_factory=dict)  # chain layer k also takes these data inputs


RuleFn = Callable[[Call], "Mapped | Layer | None"]


@dataclass(frozen=True)
class Rule:
    ops: tuple[str, ...]
    signature: tuple[str, ...]
    fn: RuleFn
    module: str  # the file that declares it


_RULES: dict[str, Rule] = {}
_MODULE_RULES: dict[str, Rule] = {}
_LOADED = False


def rule(*ops: str, sig: Sequence[str] = ("input",)) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` as the rule for ``ops``, binding positional arguments by ``sig``."""
    return _registrar(_RULES, ops, sig, "`{}`")


def module_rule(*class_names: str, sig: Sequence[str] = ("input",)) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` for ``torch.nn`` classes by name (``MultiheadAttention``); the module
    itself is ``call.args["module"]``."""
    return _registrar(_MODULE_RULES, class_names, sig, "nn.{}")


def _registrar(
    table: dict[str, Rule], names: tuple[str, ...], sig: Sequence[str], label: str
) -> Callable[[RuleFn], RuleFn]:
    """The decorator that enters ``fn`` in ``table`` under each name, refusing a name twice."""

    def deco(fn: RuleFn) -> RuleFn:
        r = Rule(names, tuple(sig), fn, fn.__module__)
        for name in names:
            if name in table:
                what = label.format(name)
                raise ValueError(f"capture rule for {what} is registered twice ({table[name].module}, {r.module})")
            table[name] = r
        return fn

    return deco


def _load() -> None:
    global _LOADED
    if not _LOADED:
        import_all(__name__, __path__)
        _LOADED = True  # after: a rule module that failed to import fails again, never half-loaded


def rules() -> dict[str, Rule]:
    _load()
    return dict(_RULES)


def find(op: str) -> Rule | None:
    _load()
    return _RULES.get(op)


def find_module(class_name: str) -> Rule | None:
    _load()
    return _MODULE_RULES.get(class_name)


def bind(r: Rule, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rest = list(args)
    for name in r.signature:
        if name.startswith(VARARGS):
            out[name[1:]] = tuple(rest)
            rest = []
            break
        if not rest:
            break
        out[name] = rest.pop(0)
    out.update(kwargs)
    return out


# -- helpers for rules ----------------------------------------------------------------------


def plain(v: Any) -> Any:
    """Tuples (and torch.Size) as lists, numbers as Python numbers: what YAML would hold."""
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    if hasattr(v, "item") and hasattr(v, "numel") and v.numel() == 1:
        return v.item()
    return v


def make(type_name: str, **raw: Any) -> Layer:
    """A layer of ``type_name`` from plain field values, validated as a spec's would be."""
    return make_layer(registry()[type_name], {k: plain(v) for k, v in raw.items() if v is not None})


def try_make(type_name: str, **raw: Any) -> Layer | None:
    try:
        return make(type_name, **raw)
    except (CnnscopeError, KeyError):
        return None


def try_map(type_name: str, **raw: Any) -> Mapped | None:
    """The call as one layer of ``type_name``, or None where no such layer can be made."""
    layer = try_make(type_name, **raw)
    return None if layer is None else Mapped([layer])


def dims_of(value: Any, rank: int) -> list[int]:
    """``dim`` arguments (an int, or a list of them) as non-negative ints."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return [int(d) % rank for d in items]


def sizes(value: Any) -> list[int]:
    """A shape given as varargs or as one list/tuple/Size."""
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]
    return [int(v) for v in value]
