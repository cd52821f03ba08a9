"""Elementwise tests and choices: ``compare`` (``x > 0.05``, ``a == b``), ``logical`` (``&``,
``|``, ``^``, ``~`` on masks), ``where`` (``torch.where(cond, x, y)``, ``masked_fill``) and
``binary``, the arithmetic the merges and ``scalar`` leave out (floor and truncating division,
remainder, ``fmod``, elementwise ``maximum`` / ``minimum``), with a number or a second input.

Every type here follows torch's broadcasting; a number (``value``, ``x``, ``y``) replaces the
corresponding input. Op rule (docs/conventions.md, category ``elementwise``): one op per output
element. No parameters, no MACs (``FlopCounterMode`` counts none). Receptive field: pointwise,
as a merge (the analyzer takes the widest input's field).

In torch a comparison gives a ``bool`` tensor; the modules ``to_torch`` builds give 0.0 / 1.0
at the input's dtype, as every built module keeps the graph's dtype (the memory analyzer counts
every tensor at ``--dtype``), and they read any non-zero value as true.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import broadcast_shapes, check_count
from cnnscope.layers.base import BOOL, Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Choice, FieldError, Kind, fld, kind_dataclass


@kind_dataclass
class OptNumber(Kind):
    """A number or null; ±inf are numbers too (``.inf`` in YAML: ``masked_fill(mask, -inf)``)."""

    def coerce(self, value: Any, ndim: int | None) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise FieldError(f"expected {self.describe(ndim)}, got {value!r}")
        return float(value)

    def describe(self, ndim: int | None) -> str:
        return "a number (.inf and -.inf too) or null"


_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _inputs(layer: Layer, ins: Sequence[Shape], numbers: int, verb: str) -> Shape:
    """Check the input count (``numbers`` operands are given as fields) and broadcast them."""
    want = layer.max_inputs - numbers if layer.max_inputs is not None else None
    if want is not None and len(ins) != want:
        raise ShapeError(
            "wrong-arity",
            f"{layer.type_name} takes {want} input{'s' if want != 1 else ''} here, got {len(ins)}",
            hint="each operand is either an input (`from:`) or a number field, not both",
        )
    check_count(layer, ins)
    return broadcast_shapes(ins, verb)


@layer_dataclass
class _Elementwise(Layer):
    """One op per output element, pointwise, no parameters; of one input and a number, or two."""

    family: ClassVar[str] = "compare"
    torch_home: ClassVar[str] = "_compare_torch"
    keeps_layout: ClassVar[bool] = True
    max_inputs: ClassVar[int | None] = 2
    ops_kind: ClassVar[str] = "elementwise"
    out_shape_checks: ClassVar[bool] = True

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.POINTWISE

    def _steps(self, formula: str, ins: Sequence[Shape], out: Shape) -> list[Step]:
        how = formula if len(ins) == 1 or all(s == out for s in ins) else f"{formula}, broadcast"
        return [
            Step("output shape", how, _fmt(out)),
            Step("ops", f"1 per output element: {_fmt(out)}", f"{prod(out):,}"),
        ]


@register
@layer_dataclass
class Compare(_Elementwise):
    torch_name: ClassVar[str] = "Compare"
    summary: ClassVar[str] = "a mask x <op> y: eq, ne, lt, le, gt, ge, with a number or a second input (broadcast)"

    op: str = fld(Choice(tuple(_SYMBOL)), doc="eq ==, ne !=, lt <, le <=, gt >, ge >=")
    value: float | None = fld(OptNumber(), None, "the number compared with (null: the second input)")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return _inputs(self, ins, self.value is not None, "compares")

    def out_dtype(self, ins: Sequence[str]) -> str:
        return BOOL

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        rhs = "y" if self.value is None else f"{self.value:g}"
        return self._steps(f"x {_SYMBOL[self.op]} {rhs} per element, true or false", ins, out)


_LOGICAL = {"and": "x and y", "or": "x or y", "xor": "x xor y", "not": "not x"}


@register
@layer_dataclass
class Logical(_Elementwise):
    torch_name: ClassVar[str] = "Logical"
    summary: ClassVar[str] = "masks combined: and, or, xor of two (broadcast), not of one (torch.logical_*)"

    op: str = fld(Choice(tuple(_LOGICAL)), doc="and, or, xor (two inputs) or not (one); non-zero is true")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        want = 1 if self.op == "not" else 2
        if len(ins) != want:
            raise ShapeError(
                "wrong-arity", f"logical {self.op} takes {want} input{'s' if want > 1 else ''}, got {len(ins)}"
            )
        return broadcast_shapes(ins, f"logical {self.op} combines")

    def out_dtype(self, ins: Sequence[str]) -> str:
        return BOOL

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return self._steps(f"{_LOGICAL[self.op]} per element", ins, out)


@register
@layer_dataclass
class Where(_Elementwise):
    torch_name: ClassVar[str] = "Where"
    keeps_layout: ClassVar[bool] = False
    summary: ClassVar[str] = "torch.where(cond, x, y): x where the first input is true, else y (broadcast)"
    max_inputs: ClassVar[int | None] = 3

    x: float | None = fld(OptNumber(), None, "the number taken where cond is true (null: the next input)")
    y: float | None = fld(OptNumber(), None, "the number taken where cond is false (null: the last input)")

    def _numbers(self) -> int:
        return (self.x is not None) + (self.y is not None)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return _inputs(self, ins, self._numbers(), "chooses between")

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        a = "x" if self.x is None else f"{self.x:g}"
        b = "y" if self.y is None else f"{self.y:g}"
        return self._steps(f"{a} where cond, else {b}, per element", ins, out)


_BINARY = {
    "floordiv": "⌊x / y⌋",
    "truncdiv": "trunc(x / y)",
    "remainder": "x mod y (the sign of y)",
    "fmod": "fmod(x, y) (the sign of x)",
    "maximum": "max(x, y)",
    "minimum": "min(x, y)",
}


@register
@layer_dataclass
class Binary(_Elementwise):
    torch_name: ClassVar[str] = "Binary"
    family: ClassVar[str] = "elementwise"
    summary: ClassVar[str] = (
        "x <op> y for floordiv, truncdiv, remainder, fmod, maximum, minimum; y a number or a second input"
    )

    op: str = fld(Choice(tuple(_BINARY)), doc=", ".join(f"{k}: {v}" for k, v in _BINARY.items()))
    value: float | None = fld(OptNumber(), None, "the number y (null: the second input)")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return _inputs(self, ins, self.value is not None, self.op)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        f = _BINARY[self.op]
        if self.value is not None:
            f = f.replace("y", f"{self.value:g}")
        return self._steps(f"{f} per element", ins, out)
