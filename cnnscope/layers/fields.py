"""Field kinds: what a layer's YAML field accepts and how it is normalized.

A layer dataclass declares each field with :func:`fld`, naming its kind. The spec loader
calls :meth:`Kind.coerce` on the raw YAML value; a :class:`FieldError` comes back to the
loader, which adds the field's location. Per-dim fields (``Ints``, ``Padding``) become
tuples of one entry per spatial dim, as PyTorch does with ``_pair`` / ``_triple``.

This module holds the machinery and the one-value kinds; the per-dim and list kinds live in
:mod:`cnnscope.layers._field_lists` and are imported from here, loaded on first use (every
command imports this module through ``layers.base``; only a spec's families need the lists).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform

if TYPE_CHECKING:
    from cnnscope.layers._field_lists import Dims as Dims
    from cnnscope.layers._field_lists import FloatOrFloats as FloatOrFloats
    from cnnscope.layers._field_lists import IntList as IntList
    from cnnscope.layers._field_lists import Ints as Ints
    from cnnscope.layers._field_lists import Padding as Padding
    from cnnscope.layers._field_lists import Pads as Pads

REQUIRED: Any = dataclasses.MISSING


class FieldError(ValueError):
    """A field value is wrong; the message says what was expected and what came.

    ``field`` names the field when the error comes from a check across fields.
    """

    def __init__(self, message: str, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.hint = hint
        self.index: int | None = None  # the list item at fault, for its location


def _each(values: list[Any], fn: Callable[[Any], Any]) -> tuple[Any, ...]:
    """``fn`` over a list's items; a FieldError learns which item it came from."""
    out = []
    for i, v in enumerate(values):
        try:
            out.append(fn(v))
        except FieldError as exc:
            exc.index = i
            raise
    return tuple(out)


def _typename(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"boolean {str(v).lower()}"
    if isinstance(v, int):
        return f"integer {v}"
    if isinstance(v, float):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {v!r}"
    if isinstance(v, list):
        return f"a list of {len(v)}" if v else "an empty list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def _int(v: Any, what: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise FieldError(f"expected {what}, got {_typename(v)}")
    if lo is not None and v < lo:
        raise FieldError(f"expected {what}, got {v}")
    if hi is not None and v > hi:
        raise FieldError(f"expected {what}, got {v}")
    return int(v)


_K = TypeVar("_K", bound="type[Kind]")
_KIND_INIT: dict[type, tuple[tuple[str, Any], ...]] = {}


@dataclass_transform(frozen_default=True)
def kind_dataclass(cls: _K) -> _K:
    """The decorator of every kind: a frozen dataclass whose ``__init__`` and immutability are
    :class:`Kind`'s generic ones, not code generated and compiled for each class (which made
    most of this module's import time, paid by every command)."""
    doc = cls.__dict__.get("__doc__")
    if doc is None:
        cls.__doc__ = "-"  # else dataclass writes one from inspect.signature (slow, and never read)
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)  # the class itself, with its fields
    if doc is None:
        cls.__doc__ = None
    return cls


@kind_dataclass
class Kind:
    """Base: accepts anything (subclasses narrow it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spec = _KIND_INIT.get(type(self))
        if spec is None:
            spec = _KIND_INIT[type(self)] = tuple((f.name, f.default) for f in dataclasses.fields(self))
        if len(args) > len(spec):
            raise TypeError(f"{type(self).__name__}() takes at most {len(spec)} positional arguments")
        for k, (name, default) in enumerate(spec):
            if k < len(args):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
                value = args[k]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif default is dataclasses.MISSING:
                raise TypeError(f"{type(self).__name__}() needs the argument {name!r}")
            else:
                value = default
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def coerce(self, value: Any, ndim: int | None) -> Any:
        return value

    def describe(self, ndim: int | None) -> str:
        return "any"


@kind_dataclass
class Int(Kind):
    min: int | None = None
    max: int | None = None

    def coerce(self, value: Any, ndim: int | None) -> int:
        return _int(value, self.describe(ndim), self.min, self.max)

    def describe(self, ndim: int | None) -> str:
        if self.min == 1 and self.max is None:
            return "a positive integer"
        if self.min == 0 and self.max is None:
            return "a non-negative integer"
        if self.min is not None and self.max is not None:
            return f"an integer from {self.min} to {self.max}"
        return "an integer"


@kind_dataclass
class Float(Kind):
    min: float | None = None
    max: float | None = None
    min_open: bool = False

    def coerce(self, value: Any, ndim: int | None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(f"expected {self.describe(ndim)}, got {_typename(value)}")
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise FieldError(f"expected {self.describe(ndim)}, got {value}")
        if self.min is not None and (v < self.min or (self.min_open and v == self.min)):
            raise FieldError(f"expected {self.describe(ndim)}, got {value}")
        if self.max is not None and v > self.max:
            raise FieldError(f"expected {self.describe(ndim)}, got {value}")
        return v

    def describe(self, ndim: int | None) -> str:
        if self.min is not None and self.max is not None:
            return f"a number from {self.min:g} to {self.max:g}"
        if self.min is not None:
            return f"a number {'>' if self.min_open else '>='} {self.min:g}"
        return "a number"


@kind_dataclass
class FloatOrInf(Kind):
    """A finite number, or an infinity as the word ``inf`` / ``-inf`` (a spec's numbers are finite,
    so an infinity is a word: a max pool's ``-inf`` fill, the max norm's order). An infinity is
    kept as its word, so a layer's fields write back to YAML as they read; ``as_float`` reads it."""

    def coerce(self, value: Any, ndim: int | None) -> float | str:
        if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "-inf"):
            return value.strip().lower().lstrip("+")
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        if isinstance(value, str):
            raise FieldError(f"expected {self.describe(ndim)}, got {_typename(value)}")
        return Float().coerce(value, ndim)

    def describe(self, ndim: int | None) -> str:
        return "a number, inf or -inf"


def as_float(value: float | str) -> float:
    """A :class:`FloatOrInf` field's value as a float (``-inf`` for the word)."""
    return float(value)


@kind_dataclass
class Bool(Kind):
    def coerce(self, value: Any, ndim: int | None) -> bool:
        if not isinstance(value, bool):
            raise FieldError(f"expected true or false, got {_typename(value)}")
        return value

    def describe(self, ndim: int | None) -> str:
        return "true or false"


@kind_dataclass
class Choice(Kind):
    values: tuple[str, ...] = ()

    def coerce(self, value: Any, ndim: int | None) -> str:
        if value not in self.values:
            from cnnscope.errors import did_you_mean

            hint = did_you_mean(value, self.values) if isinstance(value, str) else ""
            raise FieldError(f"expected one of {', '.join(self.values)}, got {_typename(value)}{hint}")
        return str(value)

    def describe(self, ndim: int | None) -> str:
        return " | ".join(self.values)


@kind_dataclass
class OptInt(Kind):
    """An integer or null."""

    min: int | None = None

    def coerce(self, value: Any, ndim: int | None) -> int | None:
        if value is None:
            return None
        return _int(value, "an integer or null", self.min)

    def describe(self, ndim: int | None) -> str:
        return "an integer or null"


@kind_dataclass
class OptFloat(Float):
    """A number or null (null: the layer's own default, e.g. attention's 1/sqrt(E) scale)."""

    def coerce(self, value: Any, ndim: int | None) -> float | None:  # type: ignore[override]
        if value is None:
            return None
        return super().coerce(value, ndim)

    def describe(self, ndim: int | None) -> str:
        return super().describe(ndim) + " or null"


@kind_dataclass
class Str(Kind):
    """A non-empty string (einsum's equation)."""

    def coerce(self, value: Any, ndim: int | None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise FieldError(f"expected a non-empty string, got {_typename(value)}")
        return value

    def describe(self, ndim: int | None) -> str:
        return "a string"


def fld(kind: Kind, default: Any = REQUIRED, doc: str = "") -> Any:
    """Declare a layer field: its kind, default (omit for required) and a one-line doc."""
    meta = {"kind": kind, "doc": doc}
    if default is REQUIRED:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def per_dim(value: Any, ndim: int) -> tuple[Any, ...]:
    """Normalize a default given as a scalar to one entry per dim."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value)
    return (value,) * ndim


_LIST_KINDS = frozenset({"Dims", "FloatOrFloats", "IntList", "Ints", "Padding", "Pads"})


def __getattr__(name: str) -> Any:
    """A per-dim or list kind, imported from :mod:`cnnscope.layers._field_lists` on first use."""
    if name not in _LIST_KINDS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from cnnscope.layers import _field_lists

    value = getattr(_field_lists, name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value
