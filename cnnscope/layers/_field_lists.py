"""The per-dim and list field kinds (:mod:`cnnscope.layers.fields` is the module to import them
from): one int or one per spatial dim (``Ints``, ``Padding``), free-length lists (``IntList``,
``Dims``), padding amounts per side (``Pads``) and scale factors (``FloatOrFloats``). Each
normalizes to a tuple.
"""

from __future__ import annotations

from typing import Any

from cnnscope.layers.fields import FieldError, Float, Kind, _each, _int, kind_dataclass


@kind_dataclass
class Ints(Kind):
    """An int, or a list of one int per spatial dim; normalized to a tuple of ``ndim``."""

    min: int = 1
    allow_none: bool = False  # adaptive pools: ``None`` keeps that dim's input size

    def coerce(self, value: Any, ndim: int | None) -> tuple[Any, ...]:
        what = self._what()
        if isinstance(value, list):
            if ndim is not None and len(value) != ndim:
                raise FieldError(f"expected {self.describe(ndim)}, got a list of {len(value)}")
            return _each(value, lambda v: None if (v is None and self.allow_none) else _int(v, what, self.min))
        if value is None and self.allow_none and ndim is not None:
            return (None,) * ndim
        v = _int(value, f"{what} or a list of {ndim}", self.min)
        return (v,) * (ndim or 1)

    def _what(self) -> str:
        return "a positive integer" if self.min == 1 else f"an integer >= {self.min}"

    def describe(self, ndim: int | None) -> str:
        return f"{self._what()} or a list of {ndim}"


@kind_dataclass
class Padding(Ints):
    """Like ``Ints`` (min 0) but also ``same`` / ``valid`` when ``strings`` is set."""

    min: int = 0
    strings: bool = True

    def coerce(self, value: Any, ndim: int | None) -> Any:
        if isinstance(value, str) and self.strings:
            if value in ("same", "valid"):
                return value
            raise FieldError(f"expected {self.describe(ndim)}, got string {value!r}")
        return super().coerce(value, ndim)

    def describe(self, ndim: int | None) -> str:
        base = f"a non-negative integer or a list of {ndim}"
        return base + (", `same` or `valid`" if self.strings else "")


@kind_dataclass
class IntList(Kind):
    """A list of integers of free length (or one integer), e.g. LayerNorm's shape."""

    min: int = 1
    length: int | None = None
    empty: bool = False  # an empty list is a value (the shape of a 0-d tensor)

    def coerce(self, value: Any, ndim: int | None) -> tuple[int, ...]:
        if isinstance(value, list):
            if self.length is not None and len(value) != self.length:
                raise FieldError(f"expected a list of {self.length} integers, got a list of {len(value)}")
            if not value and self.empty:
                return ()
            if not value:
                raise FieldError("expected a non-empty list of integers, got an empty list")
            return _each(value, lambda v: _int(v, f"integers >= {self.min}", self.min))
        if self.length not in (None, 1) and isinstance(value, int) and not isinstance(value, bool):
            return (_int(value, f"an integer >= {self.min}", self.min),) * self.length
        return (_int(value, f"an integer >= {self.min} or a list", self.min),)

    def describe(self, ndim: int | None) -> str:
        if self.length:
            return f"an integer or a list of {self.length} integers"
        return "an integer or a list of integers"


@kind_dataclass
class Pads(Kind):
    """Padding layers' amounts: one int for all sides or ``2·ndim`` ints, last dim first."""

    def coerce(self, value: Any, ndim: int | None) -> tuple[int, ...]:
        n = 2 * (ndim or 1)
        if isinstance(value, list):
            if len(value) != n:
                raise FieldError(f"expected one integer or a list of {n}, got a list of {len(value)}")
            return _each(value, lambda v: _int(v, "integers"))
        return (_int(value, f"an integer or a list of {n}"),) * n

    def describe(self, ndim: int | None) -> str:
        return f"an integer or a list of {2 * (ndim or 1)} (left, right, top, bottom, ...)"


@kind_dataclass
class FloatOrFloats(Kind):
    """A positive number or one per spatial dim (Upsample's ``scale_factor``)."""

    def coerce(self, value: Any, ndim: int | None) -> tuple[float, ...] | None:
        if value is None:
            return None
        f = Float(min=0.0, min_open=True)
        if isinstance(value, list):
            if not value:
                raise FieldError("expected a positive number or a list of them, got an empty list")
            return _each(value, lambda v: f.coerce(v, ndim))
        return (f.coerce(value, ndim),)

    def describe(self, ndim: int | None) -> str:
        return "a positive number or a list of one per spatial dim"


@kind_dataclass
class Dims(Kind):
    """Integers of any sign, one or a list (dims counted from the end when negative, shifts);
    ``min`` bounds them from below when set (reshape's ``-1``)."""

    min: int | None = None
    empty: bool = False  # accept an empty list

    def coerce(self, value: Any, ndim: int | None) -> tuple[int, ...]:
        bound = "" if self.min is None else f" >= {self.min}"
        if isinstance(value, list):
            if not value and not self.empty:
                raise FieldError("expected a non-empty list of integers, got an empty list")
            return _each(value, lambda v: _int(v, f"integers{bound}", self.min))
        return (_int(value, f"an integer{bound} or a list of them", self.min),)

    def describe(self, ndim: int | None) -> str:
        return "an integer or a list of integers" + ("" if self.min is None else f" (>= {self.min})")
