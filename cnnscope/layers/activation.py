"""Activations: elementwise nonlinearities, PReLU, GLU, softmax — every activation in torch.nn.

Op rule (docs/conventions.md): an activation counts one op per output element whatever
its cost on hardware; softmax (softmin, softmax2d, logsoftmax) counts three (exp, sum,
divide); GLU two per output element (a sigmoid and a multiply).

``torch_name`` is the torch.nn class name and every field an attribute of that class of the
same name, so the module frontend maps nn modules to these types by their attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import norm_dim
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, Step, _fmt, define, layer_dataclass, register
from cnnscope.layers.fields import Choice, FieldError, Float, Int, fld


@layer_dataclass
class _Activation(Layer):
    family: ClassVar[str] = "activation"
    keeps_layout: ClassVar[bool] = True
    ops_kind: ClassVar[str] = "activation"

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        why = "" if self.linear_at_inference() else _WHY_NONLINEAR
        return [Step("output shape", f"{self.type_name} keeps its input's shape", _fmt(out), why)]


_WHY_NONLINEAR = (
    "a nonlinearity between layers: without one, stacked convolutions or dense layers collapse into a "
    "single linear map and the extra depth buys nothing"
)


_PLAIN = [
    ("relu", "ReLU", "max(0, x)"),
    ("relu6", "ReLU6", "min(max(0, x), 6), MobileNet's activation"),
    ("selu", "SELU", "scaled exponential linear unit"),
    ("silu", "SiLU", "x·sigmoid(x), a.k.a. swish"),
    ("mish", "Mish", "x·tanh(softplus(x))"),
    ("sigmoid", "Sigmoid", "1 / (1 + exp(−x))"),
    ("tanh", "Tanh", "hyperbolic tangent"),
    ("hardswish", "Hardswish", "x·relu6(x + 3)/6, MobileNetV3's activation"),
    ("hardsigmoid", "Hardsigmoid", "relu6(x + 3)/6"),
    ("softsign", "Softsign", "x / (1 + |x|)"),
    ("tanhshrink", "Tanhshrink", "x − tanh(x)"),
    ("logsigmoid", "LogSigmoid", "log(sigmoid(x))"),
]


for _name, _torch_name, _summary in _PLAIN:
    define(_Activation, _torch_name, _name, summary=_summary, idempotent=_name in ("relu", "relu6"))


@register
@layer_dataclass
class LeakyReLU(_Activation):
    torch_name: ClassVar[str] = "LeakyReLU"
    summary: ClassVar[str] = "max(0, x) + negative_slope·min(0, x)"

    negative_slope: float = fld(Float(), 0.01, "slope for x < 0")


@register
@layer_dataclass
class ELU(_Activation):
    torch_name: ClassVar[str] = "ELU"
    summary: ClassVar[str] = "exponential linear unit"

    alpha: float = fld(Float(), 1.0, "scale of the negative part")


@register
@layer_dataclass
class CELU(_Activation):
    torch_name: ClassVar[str] = "CELU"
    summary: ClassVar[str] = "continuously differentiable ELU"

    alpha: float = fld(Float(min=0.0, min_open=True), 1.0, "scale of the negative part")


@register
@layer_dataclass
class GELU(_Activation):
    torch_name: ClassVar[str] = "GELU"
    summary: ClassVar[str] = "Gaussian error linear unit"

    approximate: str = fld(Choice(("none", "tanh")), "none", "`tanh` for the tanh approximation")


@register
@layer_dataclass
class Hardtanh(_Activation):
    torch_name: ClassVar[str] = "Hardtanh"
    summary: ClassVar[str] = "clamp(x, min_val, max_val)"
    idempotent: ClassVar[bool] = True

    min_val: float = fld(Float(), -1.0, "lower bound")
    max_val: float = fld(Float(), 1.0, "upper bound")

    def validate(self) -> None:
        if self.max_val <= self.min_val:
            raise FieldError(f"max_val ({self.max_val}) must be above min_val ({self.min_val})", field="max_val")


@register
@layer_dataclass
class Softplus(_Activation):
    torch_name: ClassVar[str] = "Softplus"
    summary: ClassVar[str] = "log(1 + exp(beta·x)) / beta"

    beta: float = fld(Float(), 1.0, "sharpness")
    threshold: float = fld(Float(), 20.0, "linear above this")


@register
@layer_dataclass
class PReLU(_Activation):
    torch_name: ClassVar[str] = "PReLU"
    summary: ClassVar[str] = "leaky ReLU with a learned slope (one, or one per channel)"

    num_parameters: int = fld(Int(min=1), 1, "1, or the number of channels")
    init: float = fld(Float(), 0.25, "initial slope")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if self.num_parameters != 1 and (len(ins[0]) < 2 or ins[0][1] != self.num_parameters):
            raise ShapeError(
                "shape-mismatch",
                f"has num_parameters={self.num_parameters}, but its input has "
                f"{ins[0][1] if len(ins[0]) > 1 else 'no'} channels",
                hint="use 1 or the channel count",
            )

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return self._params(self.num_parameters)


@register
@layer_dataclass
class Threshold(_Activation):
    torch_name: ClassVar[str] = "Threshold"
    summary: ClassVar[str] = "x where x > threshold, else value"
    idempotent: ClassVar[bool] = True

    threshold: float = fld(Float(), doc="keep x above this")
    value: float = fld(Float(), doc="the value elsewhere")


@register
@layer_dataclass
class Hardshrink(_Activation):
    torch_name: ClassVar[str] = "Hardshrink"
    summary: ClassVar[str] = "x where |x| > lambd, else 0"
    idempotent: ClassVar[bool] = True

    lambd: float = fld(Float(), 0.5, "the half-width of the band set to 0")


@register
@layer_dataclass
class Softshrink(_Activation):
    torch_name: ClassVar[str] = "Softshrink"
    summary: ClassVar[str] = "x − lambd above lambd, x + lambd below −lambd, else 0"

    lambd: float = fld(Float(), 0.5, "the shrinkage (>= 0)")

    def validate(self) -> None:
        if self.lambd < 0:
            raise FieldError(f"lambd must be >= 0, got {self.lambd}", field="lambd")


@register
@layer_dataclass
class RReLU(_Activation):
    torch_name: ClassVar[str] = "RReLU"
    summary: ClassVar[str] = "randomized leaky ReLU; at inference leaky with slope (lower + upper)/2"

    lower: float = fld(Float(), 1.0 / 8, "lowest random slope while training")
    upper: float = fld(Float(), 1.0 / 3, "highest random slope while training")

    def validate(self) -> None:
        if self.lower > self.upper:
            raise FieldError(f"lower ({self.lower}) must not be above upper ({self.upper})", field="lower")


@register
@layer_dataclass
class GLU(_Activation):
    torch_name: ClassVar[str] = "GLU"
    summary: ClassVar[str] = "a · sigmoid(b) for the two halves a, b of `dim` (the output has half of it)"
    ops_per_element: ClassVar[int] = 2  # a sigmoid and a multiply per output element

    dim: int = fld(Int(), -1, "the dim split in two halves (negative: from the end)")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        d = norm_dim(self.dim, len(ins[0]))
        if ins[0][d] % 2:
            raise ShapeError(
                "shape-mismatch", f"halves dim {d}, but its size {ins[0][d]} is odd (input {list(ins[0])})"
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        d = norm_dim(self.dim, len(ins[0]))
        return (*ins[0][:d], ins[0][d] // 2, *ins[0][d + 1 :])

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        # halving a spatial dim pairs position i with position i + n/2: not a sliding window
        return RFMap.UNSUPPORTED if norm_dim(self.dim, len(ins[0])) >= 2 else RFMap.POINTWISE


@layer_dataclass
class _Softmax(_Activation):
    ops_per_element: ClassVar[int] = 3
    dim: int = fld(Int(), 1, "the dim to normalize over (1: channels)")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        r = len(ins[0])
        if not -r <= self.dim < r:
            raise ShapeError("bad-dim", f"dim {self.dim} is out of range for a {r}-d input {list(ins[0])}")

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        return {"dim": self.dim}


define(_Softmax, "Softmax", summary="exp(x) / sum(exp(x)) along dim")
define(_Softmax, "LogSoftmax", summary="log of softmax along dim")
define(_Softmax, "Softmin", summary="softmax(−x) along dim")


@register
@layer_dataclass
class Softmax2d(_Activation):
    torch_name: ClassVar[str] = "Softmax2d"
    summary: ClassVar[str] = "softmax over the channels of a (N, C, H, W) or (C, H, W) input, at each position"
    ops_per_element: ClassVar[int] = 3

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(ins[0]) not in (3, 4):
            raise ShapeError("shape-mismatch", f"expects a 3-d or 4-d input, got {len(ins[0])}-d {list(ins[0])}")

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        return {}
