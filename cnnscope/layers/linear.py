"""Fully connected: linear (applies to the last dim, as torch.nn.Linear does)."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Int, fld

_WHY_PARAMS = (  # explain's reason beside the count
    "every input value has its own weight to every output unit: the count grows with the input, "
    "which is why a dense layer on a whole image gets so large"
)


@register
@layer_dataclass
class Linear(Layer):
    torch_name: ClassVar[str] = "Linear"
    family: ClassVar[str] = "linear"
    summary: ClassVar[str] = "fully connected: y = x·Wᵀ + b over the last dim"
    learned_linear: ClassVar[bool] = True

    out_features: int = fld(Int(min=1), doc="output features")
    bias: bool = fld(Bool(), True, "add a learned bias per output feature")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(ins[0]) < 2:
            raise ShapeError("shape-mismatch", f"expects (N, ..., features), got {list(ins[0])}")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return (*ins[0][:-1], self.out_features)

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        fin = ins[0][-1]
        return self._params(fin * self.out_features + (self.out_features if self.bias else 0))

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        return prod(ins[0]) * self.out_features

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"bias": prod(out)} if self.bias else {}

    def has_bias(self) -> bool:
        return bool(self.bias)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        # (N, F): every output sees every feature, the whole input. On a larger input it mixes
        # the last dim only (the W of an (N, C, H, W) map, the features of (N, L, C) tokens):
        # no sliding window and not the whole input
        return RFMap.GLOBAL if len(ins[0]) <= 2 else RFMap.UNSUPPORTED

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        return {"in_features": ins[0][-1], "out_features": self.out_features, "bias": self.bias}

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        fin = ins[0][-1]
        b = " + 1" if self.bias else ""
        return [
            Step("output shape", f"last dim {fin} → {self.out_features}", _fmt(out)),
            Step("parameters", f"({fin}{b})·{self.out_features}", f"{self.params(ins).total:,}", _WHY_PARAMS),
            Step(
                "MACs",
                f"{prod(ins[0][:-1]):,} rows × {fin}·{self.out_features}",
                f"{self.macs(ins, out):,}",
                "each output unit is a dot product with the whole input vector",
            ),
        ]
