"""Normalization: batchnorm1d/2d/3d, instancenorm1d/2d/3d, groupnorm, layernorm, rmsnorm,
localresponsenorm.

Receptive-field convention: normalization counts as pointwise. Batch norm in eval mode is
(it uses stored statistics); layer, group and instance norm compute statistics over space,
which in principle lets every input pixel touch every output, as the Distill article and
google-research's library also ignore.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import TYPE_CHECKING, Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, ParamCount, Shape, Step, _fmt, define, layer_dataclass, register
from cnnscope.layers.fields import Bool, Float, Int, IntList, OptFloat, fld

# per-element op rules, documented in docs/conventions.md
BN_OPS_PER_ELEMENT = 2  # eval mode: statistics and affine folded into one scale and shift
STATS_OPS_PER_ELEMENT = 5  # mean (1) + variance (2) + normalize (2), statistics on the fly
AFFINE_OPS_PER_ELEMENT = 2  # scale and shift
RMS_OPS_PER_ELEMENT = 3  # square, mean, scale by the reciprocal root (no mean subtracted)
SCALE_OPS_PER_ELEMENT = 1  # rms norm's learned scale (no shift)


@layer_dataclass
class _Norm(Layer):
    """A normalization: keeps its input's layout, and costs ``stats_ops`` per element for its
    statistics, ``affine_ops`` more where it learns an affine map (``_learns_affine``)."""

    family: ClassVar[str] = "norm"
    keeps_layout: ClassVar[bool] = True
    stats_ops: ClassVar[int] = STATS_OPS_PER_ELEMENT
    affine_ops: ClassVar[int] = AFFINE_OPS_PER_ELEMENT

    def _learns_affine(self) -> bool:
        return False

    def has_bias(self) -> bool:
        return self._learns_affine()

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"norm": prod(out) * (self.stats_ops + (self.affine_ops if self._learns_affine() else 0))}


@layer_dataclass
class _BatchNormNd(_Norm):
    stats_ops: ClassVar[int] = BN_OPS_PER_ELEMENT  # statistics and affine folded into one scale and shift
    affine_ops: ClassVar[int] = 0
    ranks: ClassVar[tuple[int, ...]] = (4,)

    eps: float = fld(Float(min=0.0, min_open=True), 1e-5, "added to the variance")
    momentum: Any = fld(Float(min=0.0, max=1.0), 0.1, "running-statistics update rate")
    affine: bool = fld(Bool(), True, "learn a scale and shift per channel")
    track_running_stats: bool = fld(Bool(), True, "keep running mean / variance buffers")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(ins[0]) not in self.ranks:
            want = " or ".join(f"{r}-d" for r in self.ranks)
            raise ShapeError("shape-mismatch", f"expects a {want} input, got {len(ins[0])}-d {list(ins[0])}")
        self._check_stats(ins[0])

    def _check_stats(self, shape: Shape) -> None:
        """Without running statistics, eval mode normalizes by the batch's own: torch needs
        more than one value per channel for that."""
        if not self.track_running_stats and prod(shape) // shape[1] == 1:
            raise ShapeError(
                "too-few-values",
                f"normalizes by batch statistics (track_running_stats: false) but gets one value per channel "
                f"from {list(shape)}",
                hint="use a batch larger than 1, or track_running_stats: true",
            )

    def linear_at_inference(self) -> bool:
        return self.track_running_stats  # stored statistics: a per-channel scale and shift

    def subtracts_channel_mean(self) -> bool:
        return True

    def _learns_affine(self) -> bool:
        return bool(self.affine)

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        c = ins[0][1]
        p = self._params(2 * c if self.affine else 0)
        buffers = 2 * c + 1 if self.track_running_stats else 0  # mean, var, num_batches_tracked
        return ParamCount(p.trainable, p.non_trainable, buffers, 1 if self.track_running_stats else 0)

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        kw = super().torch_kwargs(ins)
        kw["num_features"] = ins[0][1]
        return kw

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        c = ins[0][1]
        return [
            Step("output shape", "unchanged", _fmt(out)),
            Step(
                "parameters",
                f"γ and β per channel: 2·{c}" if self.affine else "no affine",
                f"{2 * c if self.affine else 0}",
            ),
            Step(
                "buffers",
                f"running mean and variance 2·{c}, plus a step counter",
                f"{2 * c + 1 if self.track_running_stats else 0}",
            ),
        ]


@layer_dataclass
class _InstanceNormNd(_BatchNormNd):
    stats_ops: ClassVar[int] = STATS_OPS_PER_ELEMENT
    affine_ops: ClassVar[int] = AFFINE_OPS_PER_ELEMENT

    affine: bool = fld(Bool(), False, "learn a scale and shift per channel")
    track_running_stats: bool = fld(Bool(), False, "keep running mean / variance buffers")

    def _check_stats(self, shape: Shape) -> None:
        """Instance statistics (all but eval with running stats) need more than one position."""
        if not self.track_running_stats and prod(shape[2:]) == 1:
            raise ShapeError(
                "too-few-values",
                f"normalizes each channel over its positions, but {list(shape)} has a single one",
                hint="instance norm needs a spatial size larger than 1",
            )


for _base, _torch_name, _ranks, _summary in [
    (_BatchNormNd, "BatchNorm1d", (2, 3), "batch norm over (N, C) or (N, C, L)"),
    (_BatchNormNd, "BatchNorm2d", (4,), "batch norm over (N, C, H, W)"),
    (_BatchNormNd, "BatchNorm3d", (5,), "batch norm over (N, C, D, H, W)"),
    (_InstanceNormNd, "InstanceNorm1d", (3,), "instance norm over (N, C, L)"),
    (_InstanceNormNd, "InstanceNorm2d", (4,), "instance norm over (N, C, H, W)"),
    (_InstanceNormNd, "InstanceNorm3d", (5,), "instance norm over (N, C, D, H, W)"),
]:
    define(_base, _torch_name, summary=_summary, ranks=_ranks)


@register
@layer_dataclass
class GroupNorm(_Norm):
    torch_name: ClassVar[str] = "GroupNorm"
    summary: ClassVar[str] = "group norm: statistics over channel groups and space"

    num_groups: int = fld(Int(min=1), doc="channel groups; must divide the channels")
    eps: float = fld(Float(min=0.0, min_open=True), 1e-5, "added to the variance")
    affine: bool = fld(Bool(), True, "learn a scale and shift per channel")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(ins[0]) < 2:
            raise ShapeError("shape-mismatch", f"expects (N, C, ...), got {list(ins[0])}")
        c = ins[0][1]
        if c % self.num_groups:
            raise ShapeError("bad-groups", f"has num_groups={self.num_groups}, which does not divide its {c} channels")
        if prod(ins[0]) // self.num_groups == 1:  # torch refuses statistics over one value
            raise ShapeError(
                "too-few-values",
                f"normalizes each group over a single value: {list(ins[0])} in {self.num_groups} groups",
                hint="use fewer groups, a larger batch or a larger input",
            )

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return self._params(2 * ins[0][1] if self.affine else 0)

    def _learns_affine(self) -> bool:
        return bool(self.affine)

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        kw = super().torch_kwargs(ins)
        kw["num_channels"] = ins[0][1]
        return kw


@layer_dataclass
class _TrailingNorm(_Norm):
    """Statistics over the trailing dims (``_shape``: layer norm, RMS norm), a learned scale
    (and shift, with ``has_bias``) per element of them with ``elementwise_affine``."""

    if TYPE_CHECKING:  # fields of the subclasses, each in its own place in their schemas
        normalized_shape: Any
        elementwise_affine: bool

    def _shape(self, ins: Sequence[Shape]) -> tuple[int, ...]:
        return tuple(ins[0][1:]) if self.normalized_shape is None else tuple(self.normalized_shape)

    def _learns_affine(self) -> bool:
        return bool(self.elementwise_affine)

    def has_bias(self) -> bool:
        return False

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        if not self._learns_affine():
            return ParamCount()
        return self._params(prod(self._shape(ins)) * (2 if self.has_bias() else 1))

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        kw = super().torch_kwargs(ins)
        kw["normalized_shape"] = self._shape(ins)
        return kw


@register
@layer_dataclass
class LayerNorm(_TrailingNorm):
    torch_name: ClassVar[str] = "LayerNorm"
    summary: ClassVar[str] = "layer norm over the trailing dims (default: all but the batch)"

    normalized_shape: Any = fld(IntList(), None, "trailing dims to normalize over (default: every dim but the batch)")
    eps: float = fld(Float(min=0.0, min_open=True), 1e-5, "added to the variance")
    elementwise_affine: bool = fld(Bool(), True, "learn a scale (and shift) per element")
    bias: bool = fld(Bool(), True, "learn the shift too (with elementwise_affine)")

    def has_bias(self) -> bool:
        return bool(self.elementwise_affine and self.bias)

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        shape = self._shape(ins)
        if not shape:
            raise ShapeError(
                "shape-mismatch",
                f"has nothing to normalize over: its input {list(ins[0])} has no dims beside the batch",
                hint="layer norm needs at least one dim to normalize over",
            )
        if (
            len(shape) >= len(ins[0]) + (1 if self.normalized_shape is None else 0)
            or tuple(ins[0][len(ins[0]) - len(shape) :]) != shape
        ):
            raise ShapeError(
                "shape-mismatch",
                f"normalizes over {list(shape)}, but its input {list(ins[0])} does not end with it",
                hint="normalized_shape must equal the input's trailing dims",
            )


@register
@layer_dataclass
class RMSNorm(_TrailingNorm):
    """Root-mean-square norm (``nn.RMSNorm``, ``F.rms_norm``): ``x / sqrt(mean(x²) + eps)`` over the
    trailing dims, times a learned weight; no mean subtracted, no shift."""

    torch_name: ClassVar[str] = "RMSNorm"
    stats_ops: ClassVar[int] = RMS_OPS_PER_ELEMENT
    affine_ops: ClassVar[int] = SCALE_OPS_PER_ELEMENT
    summary: ClassVar[str] = "RMS norm over the trailing dims: x / rms(x), times a learned weight"

    normalized_shape: Any = fld(IntList(), None, "trailing dims to normalize over (default: every dim but the batch)")
    eps: float | None = fld(OptFloat(min=0.0), None, "added to the mean square (null: the dtype's machine epsilon)")
    elementwise_affine: bool = fld(Bool(), True, "learn a scale per element")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        shape, got = self._shape(ins), tuple(ins[0])
        if not shape:
            raise ShapeError("shape-mismatch", f"has nothing to normalize over: its input {list(got)} has one dim")
        if len(shape) > len(got) or got[len(got) - len(shape) :] != shape:
            raise ShapeError(
                "shape-mismatch",
                f"normalizes over {list(shape)}, but its input {list(got)} does not end with it",
                hint="normalized_shape must equal the input's trailing dims",
            )


@register
@layer_dataclass
class LocalResponseNorm(_Norm):
    torch_name: ClassVar[str] = "LocalResponseNorm"
    torch_home: ClassVar[str] = "_torch_ops"  # torch's, made to take any layout
    summary: ClassVar[str] = "AlexNet's local response normalization across channels"

    size: int = fld(Int(min=1), doc="neighbouring channels to normalize over")
    alpha: float = fld(Float(), 1e-4, "scale")
    beta: float = fld(Float(), 0.75, "exponent")
    k: float = fld(Float(), 1.0, "additive constant")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(ins[0]) < 3:
            raise ShapeError("shape-mismatch", f"expects (N, C, *spatial), got {list(ins[0])}")

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        # a window sum of squares (size mults + size-1 adds) then scale, add, power, divide
        return {"norm": prod(out) * (2 * self.size - 1 + 4)}
