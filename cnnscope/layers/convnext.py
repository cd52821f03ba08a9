"""ConvNeXt's layer types: layernorm2d, layerscale, stochasticdepth.

- ``layernorm2d`` — layer norm over the channels of an ``(N, C, H, W)`` map, separately at
  every position (torchvision's ``LayerNorm2d``; ConvNeXt's stem, downsampling and head).
  Its statistics never cross positions, so for receptive fields it is pointwise.
- ``layerscale`` — a learned per-channel multiply, ``y = γ ⊙ x`` with γ of shape ``C``
  initialized to ``init_value`` (ConvNeXt's and CaiT's "layer scale"): C parameters, one
  multiply per element (counted with ``norm``: it is the scale half of a norm's affine).
  ``dim`` says which dim holds the channels: 1 (channels first, γ of shape ``(C, 1, 1)``)
  or, e.g., -1 (channels last, after a permute, γ of shape ``(C,)``).
- ``stochasticdepth`` — drops a residual branch at random while training (torchvision's
  ``StochasticDepth``); at inference it is the identity: no parameters, no arithmetic.

``to_torch`` builds small modules from ``cnnscope/layers/_convnext_torch.py``, imported
lazily so that the analytic path never loads torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, ParamCount, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Choice, Float, Int, fld
from cnnscope.layers.norm import _TrailingNorm

LAYER_SCALE_OPS_PER_ELEMENT = 1  # one multiply


@register
@layer_dataclass
class LayerNorm2d(_TrailingNorm):
    torch_name: ClassVar[str] = "LayerNorm2d"
    summary: ClassVar[str] = "layer norm over the channels of (N, C, H, W), at each position"
    ndim: ClassVar[int | None] = 2

    eps: float = fld(Float(min=0.0, min_open=True), 1e-5, "added to the variance")
    elementwise_affine: bool = fld(Bool(), True, "learn a scale (and shift) per channel")
    bias: bool = fld(Bool(), True, "learn the shift too (with elementwise_affine)")

    def _shape(self, ins: Sequence[Shape]) -> tuple[int, ...]:
        return (ins[0][1],)  # the channels, at each position

    def has_bias(self) -> bool:
        return bool(self.elementwise_affine and self.bias)

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers._convnext_torch import LayerNorm2d

        module = LayerNorm2d(ins[0][1], eps=self.eps, elementwise_affine=self.elementwise_affine, bias=self.bias)
        return self._freeze(module)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        c = ins[0][1]
        positions = prod(ins[0][2:])
        n = self.params(ins).total
        affine = (
            (f"γ and β per channel: 2·{c}" if self.bias else f"γ per channel: {c}")
            if self.elementwise_affine
            else "no affine"
        )
        return [
            Step("output shape", "unchanged", _fmt(out)),
            Step(
                "statistics",
                f"mean and variance over the {c} channels, at each of {positions:,} positions",
                f"{positions:,} pairs",
            ),
            Step("parameters", affine, f"{n:,}"),
        ]


@register
@layer_dataclass
class LayerScale(Layer):
    torch_name: ClassVar[str] = "LayerScale"
    family: ClassVar[str] = "scale"
    keeps_layout: ClassVar[bool] = True
    ops_kind: ClassVar[str] = "norm"
    ops_per_element: ClassVar[int] = LAYER_SCALE_OPS_PER_ELEMENT
    summary: ClassVar[str] = "learned per-channel scale γ ⊙ x (ConvNeXt, CaiT)"

    init_value: float = fld(Float(), 1e-6, "the initial value of every γ")
    dim: int = fld(Int(), 1, "the channel dim γ runs along: 1 (channels first) or -1 (channels last), ...")

    def _dim(self, ins: Sequence[Shape]) -> int:
        rank = len(ins[0])
        d = self.dim + rank if self.dim < 0 else self.dim
        if not 1 <= d < rank:
            raise ShapeError(
                "bad-dim", f"dim {self.dim} is not a dim after the batch of a {rank}-d input {list(ins[0])}"
            )
        return d

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(ins[0]) < 2:
            raise ShapeError("shape-mismatch", f"expects (N, C, ...), got {list(ins[0])}")
        self._dim(ins)

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return self._params(ins[0][self._dim(ins)])

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers._convnext_torch import LayerScale

        d = self._dim(ins)  # γ: (C, 1, ..., 1), broadcast over the dims after `dim`
        return self._freeze(LayerScale(ins[0][d], len(ins[0]) - 1 - d, self.init_value))

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d = self._dim(ins)
        c = ins[0][d]
        return [
            Step("output shape", "unchanged", _fmt(out)),
            Step("parameters", f"one γ per channel (dim {d}): {c} (initialized to {self.init_value:g})", f"{c:,}"),
            Step("operations", f"one multiply per element: {_fmt(out)}", f"{prod(out):,}"),
        ]


@register
@layer_dataclass
class StochasticDepth(Layer):
    torch_name: ClassVar[str] = "StochasticDepth"
    family: ClassVar[str] = "dropout"
    keeps_layout: ClassVar[bool] = True
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "drops a residual branch at random while training; identity at inference"

    p: float = fld(Float(min=0.0, max=1.0), 0.0, "probability of dropping the branch (training only)")
    mode: str = fld(Choice(("row", "batch")), "row", "`row`: per sample; `batch`: the whole batch at once")

    def commutes_with_monotone(self) -> bool:
        return True  # the identity at inference

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers._convnext_torch import StochasticDepth

        return StochasticDepth(self.p, self.mode)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", "unchanged", _fmt(out)),
            Step("at inference", f"the identity (p = {self.p:g} applies while training only)", "0 parameters, 0 ops"),
        ]
