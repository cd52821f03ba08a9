"""Elementwise arithmetic: ``scalar``, with a Python number (``x + 1``, ``x * 0.5``, ``1 / x``,
``x ** 2``); ``unary``, a function of each element (``torch.exp``, ``x.rsqrt()``); ``clamp``.

Op rule (docs/conventions.md, category ``elementwise``): one op per element, whatever the op.
Pointwise for receptive fields; no parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, RFKind, RFStep, Shape, Step, _fmt, layer_dataclass, register
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


@register
@layer_dataclass
class Scalar(Layer):
    type_name: ClassVar[str] = "scalar"
    torch_name: ClassVar[str] = "Scalar"  # cnnscope's own module
    family: ClassVar[str] = "elementwise"
    summary: ClassVar[str] = "x <op> a number: add, sub, rsub (v − x), mul, div, rdiv (v / x), pow"

    op: str = fld(
        Choice(_OPS), doc="add: x + v, sub: x − v, rsub: v − x, mul: x·v, div: x / v, rdiv: v / x, pow: x ** v"
    )
    value: float = fld(Float(), doc="the number v")

    def linear_at_inference(self) -> bool:
        # affine in x: x ± v, v − x, x·v, x / v (v ≠ 0: division by 0 gives inf, not a map)
        return self.op in ("add", "sub", "rsub", "mul") or (self.op == "div" and self.value != 0)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"elementwise": prod(out) * ELEMENTWISE_OPS_PER_ELEMENT}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Scalar(self.op, self.value)

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
)


@register
@layer_dataclass
class Unary(Layer):
    type_name: ClassVar[str] = "unary"
    torch_name: ClassVar[str] = "Unary"  # cnnscope's own module
    family: ClassVar[str] = "elementwise"
    summary: ClassVar[str] = "an elementwise function of x: exp, log, sqrt, rsqrt, abs, sin, cos, erf, ..."

    op: str = fld(Choice(_UNARY), doc="the torch function applied to every element (torch.<op>(x))")

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"elementwise": prod(out) * ELEMENTWISE_OPS_PER_ELEMENT}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Unary(self.op)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f"{self.op}(x) per element keeps the shape", _fmt(out)),
            Step("ops", f"1 per element: {_fmt(out)}", f"{prod(out):,}"),
        ]


@register
@layer_dataclass
class Clamp(Layer):
    type_name: ClassVar[str] = "clamp"
    torch_name: ClassVar[str] = "Clamp"  # cnnscope's own module
    family: ClassVar[str] = "elementwise"
    summary: ClassVar[str] = "clamps every element into [min, max] (torch.clamp)"

    min: float | None = fld(OptFloat(), None, "the lower bound (null: none)")
    max: float | None = fld(OptFloat(), None, "the upper bound (null: none)")

    def validate(self) -> None:
        if self.min is None and self.max is None:
            raise FieldError("clamp needs min, max or both", field="min")

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"elementwise": prod(out) * ELEMENTWISE_OPS_PER_ELEMENT}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Clamp(self.min, self.max)


@register
@layer_dataclass
class Normalize(Layer):
    type_name: ClassVar[str] = "normalize"
    torch_name: ClassVar[str] = "Normalize"  # cnnscope's own module (F.normalize)
    family: ClassVar[str] = "norm"
    summary: ClassVar[str] = "x / max(‖x‖_p along dim, eps), as F.normalize (cosine attention)"

    p: float = fld(Float(min=0.0, min_open=True), 2.0, "the norm's exponent")
    dim: int = fld(Int(), 1, "the dim along which each vector is normalized")
    eps: float = fld(Float(min=0.0), 1e-12, "the smallest norm divided by")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        rank = len(ins[0])
        if not -rank <= self.dim < rank:
            raise ShapeError("bad-dim", f"dim {self.dim} is out of range for a {rank}-d input {list(ins[0])}")

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        # a power and a sum per element for the norm, a division per element
        return {"norm": 3 * prod(out)}

    def rf(self, ins: Sequence[Shape]) -> RFStep | str:
        return RFKind.UNSUPPORTED if self.dim % len(ins[0]) >= 2 else RFKind.POINTWISE

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Normalize(self.p, self.dim, self.eps)
