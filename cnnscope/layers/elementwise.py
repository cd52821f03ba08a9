"""Elementwise arithmetic: ``scalar``, with a Python number (``x + 1``, ``x * 0.5``, ``1 / x``,
``x ** 2``); ``unary``, a function of each element (``torch.exp``, ``x.rsqrt()``); ``clamp``,
by numbers or by tensor inputs; ``addcmul`` / ``addcdiv``, ``x + v·a·b`` and
``x + v·a/b`` of three inputs.

Op rule (docs/conventions.md, category ``elementwise``): one op per element, whatever the op;
addcmul / addcdiv (category ``merge``): 2 per output element, 3 with a ``value`` other than 1.
Pointwise for receptive fields; no parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import broadcast_shapes, check_count
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, define, layer_dataclass, register
from cnnscope.layers.fields import Choice, FieldError, Float, Int, OptFloat, fld

ELEMENTWISE_OPS_PER_ELEMENT = 1

_OPS = ("add", "sub", "rsub", "mul", "div", "rdiv", "pow")
_FORMULA = {
    "add": "x + {v}",
    "sub": "x − {v}",
    "rsub": "{v} − x",
    "mul": "x · {v}",
    "div": "x / {v}",
    "rdiv": "{v} / x",
    "pow": "x ** {v}",
}


@layer_dataclass
class _PerElement(Layer):
    """A function of each element on its own: the shape kept, one op per element."""

    family: ClassVar[str] = "elementwise"
    keeps_layout: ClassVar[bool] = True
    torch_home: ClassVar[str] = "_torch_ops"
    ops_kind: ClassVar[str] = "elementwise"
    ops_per_element: ClassVar[int] = ELEMENTWISE_OPS_PER_ELEMENT


@register
@layer_dataclass
class Scalar(_PerElement):
    torch_name: ClassVar[str] = "Scalar"
    summary: ClassVar[str] = "x <op> a number: add, sub, rsub (v − x), mul, div, rdiv (v / x), pow"

    op: str = fld(
        Choice(_OPS), doc="add: x + v, sub: x − v, rsub: v − x, mul: x·v, div: x / v, rdiv: v / x, pow: x ** v"
    )
    value: float = fld(Float(), doc="the number v")

    def linear_at_inference(self) -> bool:
        # affine in x: x ± v, v − x, x·v, x / v (v ≠ 0: division by 0 gives inf, not a map)
        return self.op in ("add", "sub", "rsub", "mul") or (self.op == "div" and self.value != 0)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        f = _FORMULA[self.op].format(v=f"{self.value:g}")
        return [
            Step("output shape", f"{f} per element keeps the shape", _fmt(out)),
            Step("ops", f"1 per element: {_fmt(out)}", f"{prod(out):,}"),
        ]


_UNARY = (
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "abs",
    "neg",
    "sin",
    "cos",
    "erf",
    "reciprocal",
    "square",
    "sign",
    "floor",
    "ceil",
    "round",
    "trunc",
    "log1p",
    "expm1",
    # and the rest of torch's elementwise math a model may use (rules/arith.py captures them)
    "log2",
    "log10",
    "exp2",
    "tan",
    "atan",
    "asin",
    "acos",
    "sinh",
    "cosh",
    "frac",
)


@register
@layer_dataclass
class Unary(_PerElement):
    torch_name: ClassVar[str] = "Unary"
    summary: ClassVar[str] = "an elementwise function of x: exp, log, sqrt, rsqrt, abs, sin, cos, erf, ..."

    op: str = fld(Choice(_UNARY), doc="the torch function applied to every element (torch.<op>(x))")

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f"{self.op}(x) per element keeps the shape", _fmt(out)),
            Step("ops", f"1 per element: {_fmt(out)}", f"{prod(out):,}"),
        ]


@register
@layer_dataclass
class Clamp(_PerElement):
    torch_name: ClassVar[str] = "Clamp"
    summary: ClassVar[str] = "clamps every element into [min, max] (torch.clamp), bounds numbers or inputs"
    max_inputs: ClassVar[int | None] = 3

    min: float | None = fld(OptFloat(), None, "the lower bound (null: none)")
    max: float | None = fld(OptFloat(), None, "the upper bound (null: none)")
    from_inputs: str = fld(
        Choice(("none", "min", "max", "both")),
        "none",
        "which bounds are further inputs, in this order (tensors broadcast against x, as torch.clamp takes them)",
    )

    def _tensors(self) -> tuple[bool, bool]:
        return self.from_inputs in ("min", "both"), self.from_inputs in ("max", "both")

    def validate(self) -> None:
        lo, hi = self._tensors()
        if (lo and self.min is not None) or (hi and self.max is not None):
            raise FieldError(f"a bound from an input (from_inputs: {self.from_inputs}) cannot be a number too", "min")
        if self.min is None and self.max is None and not (lo or hi):
            raise FieldError("clamp needs min, max or both", field="min")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        want = 1 + sum(self._tensors())
        if len(ins) != want:
            raise ShapeError(
                "wrong-arity",
                f"takes {want} input{'s' if want > 1 else ''} (from_inputs: {self.from_inputs}), got {len(ins)}",
            )
        broadcast_shapes(ins, "clamps with")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return broadcast_shapes(ins, "clamps with") if len(ins) > 1 else ins[0]

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        if self.from_inputs != "none":
            from cnnscope.layers import _functional_torch

            return _functional_torch.ClampInputs(self.min, self.max, self.from_inputs)
        from cnnscope.layers import _torch_ops

        return _torch_ops.Clamp(self.min, self.max)


@layer_dataclass
class _AddC(Layer):
    """``x + value · a ∘ b`` with torch broadcasting: addcmul (∘ = ·), addcdiv (∘ = /)."""

    family: ClassVar[str] = "merge"
    min_inputs: ClassVar[int] = 3
    max_inputs: ClassVar[int | None] = 3
    symbol: ClassVar[str] = "·"

    value: float = fld(Float(), 1.0, "the factor of the product (or quotient)")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
        broadcast_shapes(ins, "combines")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return broadcast_shapes(ins, "combines")

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        # the product (or quotient) and the sum per output element, and the scale unless it is 1
        return {"merge": prod(out) * (2 if self.value == 1 else 3)}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _functional_torch

        return getattr(_functional_torch, self.torch_name)(self.value)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        scale = "" if self.value == 1 else f"{self.value:g} · "
        n = 2 if self.value == 1 else 3
        return [
            Step(
                "output shape",
                f"x + {scale}a {self.symbol} b, broadcast: " + ", ".join(_fmt(s) for s in ins),
                _fmt(out),
            ),
            Step("ops", f"{n} per output element", f"{n * prod(out):,}"),
        ]


define(_AddC, "AddCMul", summary="x + value · a · b, broadcast (torch.addcmul; GRN's affine)")
define(_AddC, "AddCDiv", summary="x + value · a / b, broadcast (torch.addcdiv)", symbol="/")


@register
@layer_dataclass
class Normalize(Layer):
    torch_name: ClassVar[str] = "Normalize"  # F.normalize
    torch_home: ClassVar[str] = "_torch_ops"
    ops_kind: ClassVar[str] = "norm"
    ops_per_element: ClassVar[int] = 3  # a power and a sum per element for the norm, a division
    family: ClassVar[str] = "norm"
    keeps_layout: ClassVar[bool] = True
    summary: ClassVar[str] = "x / max(‖x‖_p along dim, eps), as F.normalize (cosine attention)"

    p: float = fld(Float(min=0.0, min_open=True), 2.0, "the norm's exponent")
    dim: int = fld(Int(), 1, "the dim along which each vector is normalized")
    eps: float = fld(Float(min=0.0), 1e-12, "the smallest norm divided by")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        rank = len(ins[0])
        if not -rank <= self.dim < rank:
            raise ShapeError("bad-dim", f"dim {self.dim} is out of range for a {rank}-d input {list(ins[0])}")

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED if self.dim % len(ins[0]) >= 2 else RFMap.POINTWISE
