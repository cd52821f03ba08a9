"""The layer contract and the registry every layer type is registered in.

A layer type is a frozen dataclass whose fields are its YAML schema; its methods are all
the tool knows about it. Shapes passed in and out always include the batch dimension, in
PyTorch's order (``N, C, *spatial``). Nothing here imports torch: ``to_torch`` does so
lazily, so the analytic path stays torch-free.

Besides its costs, a layer says what it is (its window, bias, groups, whether it aliases, is
a learned linear map, pools...), so that no consumer matches family names or probes fields;
how a layer maps positions lives in :mod:`cnnscope.layers.window`. (Over 300 lines: the
contract, every default of it documented, and the registry are this module's one job.)
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

from cnnscope.errors import ShapeError, SpecError, did_you_mean
from cnnscope.layers.fields import Bool, fld
from cnnscope.layers.window import RFKind, RFMap, Window
from cnnscope.records import Record, record

__all__ = ["Layer", "ParamCount", "RFKind", "RFMap", "Shape", "Step", "Window", "lookup", "register", "registry"]

Shape = tuple[int, ...]
FLOAT, BOOL, INT64 = "float", "bool", "int64"  # element types, for memory (Layer.out_dtype)


@record
class ParamCount(Record):
    """Parameter elements split by ``requires_grad``, and buffer elements apart."""

    trainable: int = 0
    non_trainable: int = 0
    buffers: int = 0
    int64_buffers: int = 0  # of ``buffers``, those stored as int64 whatever the dtype (num_batches_tracked)

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable


@record
class Step(Record):
    """One line of ``explain``: what is computed, the formula with numbers, the result, and
    (where the course gives one) why, in a sentence."""

    what: str
    formula: str
    result: str
    why: str = ""

    def __init__(self, what: str, formula: str, result: str, why: str = "") -> None:
        put = object.__setattr__  # written out: explain makes one per formula (a thousand for a ResNet-50)
        put(self, "what", what)
        put(self, "formula", formula)
        put(self, "result", result)
        put(self, "why", why)


L = TypeVar("L", bound="Layer")


@dataclass_transform(frozen_default=True, kw_only_default=True)
def layer_dataclass(cls: type[L]) -> type[L]:
    """The decorator of every layer class: a frozen, keyword-only dataclass.

    Its ``__init__``, equality, hash, repr and immutability come from :class:`Layer`, one
    generic method each, instead of code that ``dataclass`` would generate and compile for
    every class — which was most of what importing the layer families cost (the analytic
    commands pay that on every run).
    """
    doc = cls.__dict__.get("__doc__")
    if doc is None:
        cls.__doc__ = "-"  # else dataclass writes one from inspect.signature (slow, and never read)
    dataclasses.dataclass(init=False, repr=False, eq=False, kw_only=True)(cls)  # the class itself, with its fields
    if doc is None:
        cls.__doc__ = None
    return cls


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_INIT: dict[type, tuple[tuple[str, Any], ...]] = {}


def _init_spec(cls: type) -> tuple[tuple[str, Any], ...]:
    spec = _INIT.get(cls)
    if spec is None:
        spec = _INIT[cls] = tuple((f.name, f.default) for f in dataclasses.fields(cast(Any, cls)) if f.init)
    return spec


@layer_dataclass
class Layer:
    """Base of every layer type. Subclasses set the ClassVars and override the methods."""

    type_name: ClassVar[str] = ""  # its YAML `type:` (register: torch_name in lowercase, unless set)
    family: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    ndim: ClassVar[int | None] = None  # spatial dims expected (None: any rank)
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    torch_name: ClassVar[str] = ""  # the torch.nn class ``to_torch`` builds, by default
    torch_home: ClassVar[str] = ""  # or the cnnscope.layers module of cnnscope's own class ("_torch_ops")
    # an op that costs the same per output element: its other_ops category ("norm"...) and count
    ops_kind: ClassVar[str] = ""
    ops_per_element: ClassVar[int] = 1
    out_shape_checks: ClassVar[bool] = False  # out_shape refuses the inputs it cannot take: check_inputs calls it
    opaque: ClassVar[bool] = False  # an op cnnscope cannot analyze: its costs are unknown
    linear_map: ClassVar[bool] = False  # an affine map at inference without weights of its own (lint)
    idempotent: ClassVar[bool] = False  # f(f(x)) = f(x) and f commutes with max (relu, relu6, hardtanh)
    # what the layer is, for the tools that reason about a network (lint, explain, shift):
    learned_linear: ClassVar[bool] = False  # a learned linear map: a convolution or a fully connected layer
    convolution: ClassVar[bool] = False  # a learned linear map over windows (convolution, transposed or not)
    pools: ClassVar[bool] = False  # summarizes positions alike, no weights (max/avg pooling, mean/sum/max reductions)
    keeps_layout: ClassVar[bool] = False  # the output is its input, value for value in place (activations, norms)
    rearranges: ClassVar[bool] = False  # moves, copies or pads values without arithmetic (flatten, view, pad, permute)
    data_dependent: ClassVar[bool] = False  # its output size is the one measured at capture (nms, x[mask], unique)

    trainable: bool = fld(Bool(), True, "false freezes the layer's parameters (requires_grad=False)")

    # -- value semantics (see layer_dataclass) -----------------------------------------
    def __init__(self, **fields: Any) -> None:
        for name, default in _init_spec(type(self)):
            if name in fields:
                value = fields.pop(name)
            elif default is dataclasses.MISSING:
                raise TypeError(f"{type(self).__name__}() needs the keyword argument {name!r}")
            else:
                value = default
            object.__setattr__(self, name, value)
        if fields:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(fields)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}: layers are frozen")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}: layers are frozen")

    def _values(self) -> tuple[Any, ...]:
        names = _FIELD_NAMES.get(type(self))
        if names is None:
            names = _FIELD_NAMES[type(self)] = tuple(f.name for f in dataclasses.fields(cast(Any, self)))
        return tuple(getattr(self, n) for n in names)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __repr__(self) -> str:
        names = _FIELD_NAMES.get(type(self)) or tuple(f.name for f in dataclasses.fields(cast(Any, self)))
        return f"{type(self).__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in names) + ")"

    # -- checks and shapes ------------------------------------------------------------
    def validate(self) -> None:
        """Checks across fields that need no input shape; raise ``FieldError(field=...)``."""

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        """Raise ShapeError unless the inputs have the rank this layer takes (or, with
        ``out_shape_checks``, unless ``out_shape`` takes them)."""
        if self.out_shape_checks:
            self.out_shape(ins)
        elif self.ndim is not None:
            want = self.ndim + 2
            got = len(ins[0])
            if got != want:
                raise ShapeError(
                    "shape-mismatch",
                    f"expects a {want}-d input (N, C, {_spatial_names(self.ndim)}), got {got}-d {list(ins[0])}",
                )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return ins[0]

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return ParamCount()

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        """Multiply-accumulates of the conv / linear / matmul kind; bias excluded."""
        return 0

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        """The rest of the arithmetic, by category (see docs/conventions.md); by default
        ``ops_per_element`` per output element of the category ``ops_kind``, if one is set."""
        return {self.ops_kind: prod(out) * self.ops_per_element} if self.ops_kind else {}

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        """How the layer maps positions (:class:`RFKind`, and for a window its numbers)."""
        return RFMap.POINTWISE

    def window(self, ins: Sequence[Shape]) -> Window | None:
        """The sliding window (kernel, stride, dilation, (low, high) padding per spatial dim), or
        None. By default read from :meth:`rf`: a crop or a pad is a window of kernel 1."""
        return Window.of(self.rf(ins))

    def aliases(self, ins: Sequence[Shape]) -> bool:
        """Keeps one position in s (a stride > 1) without filtering first itself: only an average
        pool whose window is at least its stride is a (box) low-pass of its own."""
        step = self.rf(ins)
        if not step.windowed or all(s == 1 for s in step.stride):
            return False
        return not (self.lowpass() and all(k >= s for k, s in zip(step.kernel, step.stride, strict=True)))

    def has_bias(self) -> bool:
        """Has a learned bias (torch's ``bias``): a shift per output channel or feature (a
        convolution's, a linear layer's; an affine norm's β)."""
        return False

    def channel_groups(self) -> int:
        """Channel groups of a learned map (a depthwise convolution has one per channel); 1 otherwise."""
        return 1

    def commutes_with_monotone(self) -> bool:
        """``f(layer(x)) = layer(f(x))`` for every monotone elementwise ``f``: max pooling, and
        the layers that are the identity at inference (dropout)."""
        return False

    def out_dtype(self, ins: Sequence[str]) -> str:
        """The element type of the output, given the inputs': ``float`` (whatever float dtype the
        network runs at, ``--dtype``), ``bool`` or ``int64``. By default torch's promotion: float
        if any input is, bool if all are, else int64; a learned map's output is float. A
        comparison says ``bool``, an index output (argmax, topk's indices, nonzero) ``int64``."""
        if self.learned_linear or not ins or FLOAT in ins:
            return FLOAT
        return BOOL if all(d == BOOL for d in ins) else INT64

    def warnings(self, ins: Sequence[Shape], out: Shape) -> list[str]:
        return []

    def cost_known(self) -> bool:
        """Whether ``macs``/``other_ops`` are the layer's real cost: true for every analyzed
        type; an opaque op knows it only when the dispatcher measured it at capture."""
        return not self.opaque

    def linear_at_inference(self) -> bool:
        """Linear (affine) at inference, with no weights to speak of: two convolutions with only
        such layers between them compose into one linear map (lint's no-nonlinearity rule)."""
        return self.linear_map

    def subtracts_channel_mean(self) -> bool:
        """Subtracts a per-channel mean (batch / instance norm), so a bias before it cancels."""
        return False

    def lowpass(self) -> bool:
        """A fixed low-pass filter: averages a window of neighbouring positions with fixed, positive
        weights (average pooling with a kernel > 1). Before a strided layer it anti-aliases, as a
        blur-pool does (`cnnscope shift`, lint's aliased-downsampling rule); learned weights never count."""
        return False

    def border_fill(self) -> str:
        """What a window reads beyond the input's border, where this layer pads: ``zeros`` (the
        default), ``reflect``, ``replicate``, ``circular``, ``-inf`` (max pooling: padding never wins)
        or ``excluded`` (an average that leaves the padding out). Every fill but ``circular`` tells the
        network where the border is (`cnnscope shift`)."""
        return "zeros"

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [Step("output shape", f"{self.type_name} keeps its input's shape", _fmt(out))]

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        """Constructor arguments of ``torch_name``: the fields, plus what is inferred."""
        return {f.name: getattr(self, f.name) for f in self.fields() if f.name != "trainable"}

    def to_torch(self, ins: Sequence[Shape]) -> Any:  # -> torch.nn.Module
        """The equivalent ``torch.nn`` module (imports torch): ``torch_name`` built from
        ``torch_kwargs``, from ``torch.nn`` or, with a ``torch_home``, from that module of cnnscope's."""
        if self.torch_home:
            from importlib import import_module

            home: Any = import_module(f"cnnscope.layers.{self.torch_home}")
        else:
            import torch.nn as home
        return self._freeze(getattr(home, self.torch_name)(**self.torch_kwargs(ins)))

    # -- helpers for subclasses -------------------------------------------------------
    def _params(self, n: int) -> ParamCount:
        return ParamCount(trainable=n) if self.trainable else ParamCount(non_trainable=n)

    def _freeze(self, module: Any) -> Any:
        if not self.trainable:
            for p in module.parameters():
                p.requires_grad_(False)
        return module

    @classmethod
    def fields(cls) -> list[dataclasses.Field[Any]]:
        return [f for f in dataclasses.fields(cast(Any, cls)) if f.init]

    def values(self) -> dict[str, Any]:
        """Every field's value by name, defaults included (``config`` keeps those that differ)."""
        return {f.name: getattr(self, f.name) for f in self.fields()}

    def op_label(self) -> str:
        """The op a message names this layer by: its type name (an opaque node: the torch op)."""
        return self.type_name

    def config(self) -> dict[str, Any]:
        """Fields that differ from their defaults, as YAML-ready plain values."""
        out: dict[str, Any] = {}
        for f in self.fields():
            v = getattr(self, f.name)
            default = f.default
            kind = f.metadata.get("kind")
            if default is not dataclasses.MISSING and kind is not None and default is not None:
                with contextlib.suppress(Exception):
                    default = kind.coerce(default, self.ndim)
            if default is not dataclasses.MISSING and v == default:
                continue
            if isinstance(v, tuple):
                v = (
                    v[0]
                    if len(set(v)) == 1 and f.name not in _LIST_FIELDS and _reads_back(kind, v, self.ndim)
                    else list(v)
                )
            out[f.name] = v
        return out


def _reads_back(kind: Any, v: tuple[Any, ...], ndim: int | None) -> bool:
    """Whether one value of ``v`` loads back as ``v`` (a per-dim ``3`` is ``(3, 3)``; upsample's
    ``scale_factor: 1.0`` is ``(1.0,)``, not ``(1.0, 1.0)``)."""
    try:
        return kind is None or bool(kind.coerce(v[0], ndim) == v)
    except Exception:
        return False


# whole lists, never one value for all dims: a repeated value must stay a list (reshape's
# `shape: [0, 0]` is not `shape: 0`)
_LIST_FIELDS = {"normalized_shape", "size", "pad", "shape", "sizes", "dims", "shifts", "indices", "scales"}


def _spatial_names(ndim: int) -> str:
    return {1: "L", 2: "H, W", 3: "D, H, W"}.get(ndim, "...")


def _fmt(shape: Sequence[int]) -> str:
    return "×".join(str(s) for s in shape)


# -- the registry ---------------------------------------------------------------------

_REGISTRY: dict[str, type[Layer]] = {}
_ORDER: dict[str, int] = {}  # registration order
_ALL_IMPORTED = False
_LISTED: dict[str, type[Layer]] = {}


def register(cls: type[L]) -> type[L]:
    """Class decorator: register a layer type under its ``type_name`` (by default its own
    ``torch_name`` in lowercase); refuse duplicates."""
    if "type_name" not in cls.__dict__ and "torch_name" in cls.__dict__:
        cls.type_name = cls.torch_name.lower()
    name = cls.type_name
    if not name or name != name.lower():
        raise ValueError(f"{cls.__name__}: type_name must be a non-empty lowercase name")
    if name in _REGISTRY:
        raise ValueError(f"layer type `{name}` is registered twice ({_REGISTRY[name].__name__}, {cls.__name__})")
    _REGISTRY[name] = cls
    _ORDER[name] = len(_ORDER)
    return cls


def define(base: type[L], torch_name: str, type_name: str | None = None, **classvars: Any) -> type[L]:
    """Declare and register a member of a layer family that differs from ``base`` only in
    class-level facts (``summary``, ``ndim``, ...): the 1-d/2-d/3-d variants of one N-d
    implementation, or the fieldless activations. ``type_name`` defaults to the lowercase
    torch class name. The class is also bound in ``base``'s module under ``torch_name``.
    """
    import sys

    attrs = {
        "__module__": base.__module__,
        "__qualname__": torch_name,
        "__annotations__": {},
        "type_name": type_name or torch_name.lower(),
        "torch_name": torch_name,
        **classvars,
    }
    # no new fields: the base's generated __init__, __eq__, __hash__ and frozen __setattr__ serve
    # as they are, and skipping dataclass() here saves most of the package's import time
    cls: type[L] = type(torch_name, (base,), attrs)
    register(cls)
    setattr(sys.modules[base.__module__], torch_name, cls)
    return cls


def registry() -> dict[str, type[Layer]]:
    """All registered layer types by name, family by family in module name order (imports
    every family module once)."""
    global _ALL_IMPORTED, _LISTED
    if not _ALL_IMPORTED:
        from cnnscope.layers import load_families

        load_families()
        _ALL_IMPORTED = True
    if len(_LISTED) != len(_REGISTRY):  # the same order whichever families were imported first
        _LISTED = dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].__module__, _ORDER[kv[0]])))
    return dict(_LISTED)


def registered(name: str) -> type[Layer] | None:
    """The type registered as ``name`` if its family is imported already (imports nothing)."""
    return _REGISTRY.get(name)


def lookup(name: str) -> type[Layer]:
    cls = _REGISTRY.get(name)  # its family is imported (and no copy of the registry per layer)
    if cls is not None:
        return cls
    reg = registry()
    if name in reg:
        return reg[name]
    lowered = name.lower().replace("_", "")
    if lowered in reg:
        raise SpecError(
            "unknown-layer",
            f"unknown layer type `{name}` (did you mean `{lowered}`?)",
            hint="type names are PyTorch's class names in lowercase",
        )
    raise SpecError(
        "unknown-layer",
        f"unknown layer type `{name}`{did_you_mean(name, reg)}",
        hint="`cnnscope layers` lists the known types",
    )


def numel(shape: Sequence[int]) -> int:
    return prod(shape)
