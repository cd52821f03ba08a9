"""Activations: elementwise nonlinearities, PReLU, softmax.

Op rule (docs/conventions.md): an activation counts one op per output element whatever
its cost on hardware; softmax counts three (exp, sum, divide).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, ParamCount, Shape, define, layer_dataclass, register
from cnnscope.layers.fields import Choice, FieldError, Float, Int, fld


@layer_dataclass
class _Activation(Layer):
    family: ClassVar[str] = "activation"
    ops_per_element: ClassVar[int] = 1

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"activation": prod(out) * self.ops_per_element}


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
]


for _name, _torch_name, _summary in _PLAIN:
    define(_Activation, _torch_name, _name, summary=_summary, idempotent=_name in ("relu", "relu6"))


@register
@layer_dataclass
class LeakyReLU(_Activation):
    type_name: ClassVar[str] = "leakyrelu"
    torch_name: ClassVar[str] = "LeakyReLU"
    summary: ClassVar[str] = "max(0, x) + negative_slope·min(0, x)"

    negative_slope: float = fld(Float(), 0.01, "slope for x < 0")


@register
@layer_dataclass
class ELU(_Activation):
    type_name: ClassVar[str] = "elu"
    torch_name: ClassVar[str] = "ELU"
    summary: ClassVar[str] = "exponential linear unit"

    alpha: float = fld(Float(), 1.0, "scale of the negative part")


@register
@layer_dataclass
class CELU(_Activation):
    type_name: ClassVar[str] = "celu"
    torch_name: ClassVar[str] = "CELU"
    summary: ClassVar[str] = "continuously differentiable ELU"

    alpha: float = fld(Float(min=0.0, min_open=True), 1.0, "scale of the negative part")


@register
@layer_dataclass
class GELU(_Activation):
    type_name: ClassVar[str] = "gelu"
    torch_name: ClassVar[str] = "GELU"
    summary: ClassVar[str] = "Gaussian error linear unit"

    approximate: str = fld(Choice(("none", "tanh")), "none", "`tanh` for the tanh approximation")


@register
@layer_dataclass
class Hardtanh(_Activation):
    type_name: ClassVar[str] = "hardtanh"
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
    type_name: ClassVar[str] = "softplus"
    torch_name: ClassVar[str] = "Softplus"
    summary: ClassVar[str] = "log(1 + exp(beta·x)) / beta"

    beta: float = fld(Float(), 1.0, "sharpness")
    threshold: float = fld(Float(), 20.0, "linear above this")


@register
@layer_dataclass
class PReLU(_Activation):
    type_name: ClassVar[str] = "prelu"
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


@register
@layer_dataclass
class Softmax(_Softmax):
    type_name: ClassVar[str] = "softmax"
    torch_name: ClassVar[str] = "Softmax"
    summary: ClassVar[str] = "exp(x) / sum(exp(x)) along dim"


@register
@layer_dataclass
class LogSoftmax(_Softmax):
    type_name: ClassVar[str] = "logsoftmax"
    torch_name: ClassVar[str] = "LogSoftmax"
    summary: ClassVar[str] = "log of softmax along dim"
