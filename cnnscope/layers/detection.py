"""What a detector's post-processing does: ``nonzero`` (``torch.where(mask)``), ``unique``,
``nms`` (torchvision's non-maximum suppression), ``roialign`` and ``multiscaleroialign``
(torchvision's RoI Align, on one feature map or on an FPN's levels).

``nonzero``, ``unique`` and ``nms`` give as many elements as the data decides: each holds the
count measured at capture in ``length``, says so in its explanation, and is honest for that
input only (the capture's seeded input; another image keeps another number of boxes). RoI
Align's output is analytic: one ``output_size`` map per box, whatever the boxes hold.

Cost: ``FlopCounterMode`` counts none of these (torchvision's kernels are not in its table):
no MACs. Op rule (docs/conventions.md): RoI Align averages ``s × s`` bilinear samples per output
element (``s`` the sampling ratio), ``(2·4 − 1 + 1)·s²`` ops each, category ``interpolate``;
an adaptive ratio (``sampling_ratio`` ≤ 0) depends on each box's size, so it is not counted;
``nms`` compares every pair of boxes once for their overlap (``select``: ``K·(K − 1)/2``);
``nonzero`` and ``unique`` read each element once (``select``). Receptive field: n/a (boxes
and positions chosen by value).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import check_count
from cnnscope.layers.base import INT64, Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Choice, FieldError, Float, Int, IntList, Kind, OptInt, fld, kind_dataclass
from cnnscope.layers.indexing import _Measured


@layer_dataclass
class _Detected(_Measured):
    """A detector's post-processing op: as many elements out as the data decides; by default
    it reads each element of its first input once (``select``)."""

    family: ClassVar[str] = "detection"
    out_shape_checks: ClassVar[bool] = True

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"select": prod(ins[0])} if prod(ins[0]) else {}

    def _steps(self, shown: str, counted: str, ins: Sequence[Shape], out: Shape) -> list[Step]:
        """The output shape (``shown`` of the input), and how many the data gave (``counted``)."""
        return [
            Step("output shape", f"{shown} of {_fmt(ins[0])}", _fmt(out)),
            self._said(f"{counted} of {prod(ins[0]):,}"),
        ]


@register
@layer_dataclass
class Nonzero(_Detected):
    torch_name: ClassVar[str] = "Nonzero"
    torch_home: ClassVar[str] = "_index_torch"
    summary: ClassVar[str] = "the indices of the non-zero (true) elements: torch.nonzero, torch.where(mask)[k]"

    column: int | None = fld(
        OptInt(min=0), None, "k: the indices along dim k, 1-d (torch.where(mask)[k]); null: the (length, rank) matrix"
    )

    def out_dtype(self, ins: Sequence[str]) -> str:
        return INT64

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        rank = len(ins[0])
        if rank == 0:
            raise ShapeError("shape-mismatch", "nonzero of a 0-d input is not supported")
        if self.length > prod(ins[0]):
            raise ShapeError("shape-mismatch", f"length {self.length} exceeds the input's {prod(ins[0])} elements")
        if self.column is None:
            return (self.length, rank)
        if self.column >= rank:
            raise ShapeError("bad-dim", f"column {self.column} of a {rank}-d input's indices does not exist")
        return (self.length,)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        which = "indices" if self.column is None else f"dim-{self.column} indices"
        return self._steps(f"the {which} of the true elements", "true elements", ins, out)


@register
@layer_dataclass
class Unique(_Detected):
    torch_name: ClassVar[str] = "Unique"
    torch_home: ClassVar[str] = "_index_torch"
    summary: ClassVar[str] = "the distinct values of the input (torch.unique), their counts, or each value's place"

    output: str = fld(
        Choice(("values", "inverse", "counts")),
        "values",
        "values: the distinct values (1-d); inverse: each element's index among them; counts: how often each occurs",
    )
    sorted: bool = fld(Bool(), True, "the distinct values in ascending order")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        if self.length > max(1, prod(ins[0])):
            raise ShapeError("shape-mismatch", f"length {self.length} exceeds the input's {prod(ins[0])} elements")
        return ins[0] if self.output == "inverse" else (self.length,)

    def out_dtype(self, ins: Sequence[str]) -> str:
        return INT64 if self.output != "values" else super().out_dtype(ins)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return self._steps(f"{self.output} of the distinct values", "distinct values", ins, out)


@register
@layer_dataclass
class Nms(_Detected):
    torch_name: ClassVar[str] = "Nms"
    torch_home: ClassVar[str] = "_detection_torch"
    summary: ClassVar[str] = "non-maximum suppression: the indices of the boxes kept (torchvision.ops.nms)"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2

    iou_threshold: float = fld(Float(), doc="a box overlapping a higher-scored kept one by more than this goes")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        check_count(self, ins)
        boxes, scores = ins[0], ins[1]
        if len(boxes) != 2 or boxes[1] != 4 or len(scores) != 1 or scores[0] != boxes[0]:
            raise ShapeError(
                "shape-mismatch",
                f"nms takes boxes (K, 4) and scores (K,), got {list(boxes)} and {list(scores)}",
            )
        if self.length > boxes[0]:
            raise ShapeError("shape-mismatch", f"length {self.length} exceeds the {boxes[0]} boxes")
        return (self.length,)

    def out_dtype(self, ins: Sequence[str]) -> str:
        return INT64

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        k = ins[0][0]
        return {"select": k * (k - 1) // 2} if k > 1 else {}

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        k = ins[0][0]
        return [
            Step("output shape", f"the indices of the boxes kept of {k:,}, by score (IoU > {self.iou_threshold:g} go)",
                 _fmt(out)),
            Step("ops", f"{k:,} boxes compared pairwise: {k:,}·{max(k - 1, 0):,}/2", f"{k * max(k - 1, 0) // 2:,}"),
            self._said(f"boxes kept of {k:,}"),
        ]  # fmt: skip


@kind_dataclass
class Floats(Kind):
    """A non-empty list of positive numbers (one per level)."""

    def coerce(self, value: Any, ndim: int | None) -> tuple[float, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise FieldError("expected a non-empty list of positive numbers, got an empty list")
        return tuple(Float(min=0.0, min_open=True).coerce(v, ndim) for v in items)

    def describe(self, ndim: int | None) -> str:
        return "a list of positive numbers"


def _interp_ops(sampling_ratio: int, n: int) -> dict[str, int]:
    # s·s bilinear samples per output element: 4 taps weighted and summed (2·4 − 1), then averaged
    return {"interpolate": 8 * sampling_ratio * sampling_ratio * n} if sampling_ratio > 0 and n else {}


@layer_dataclass
class _RoiPool(Layer):
    family: ClassVar[str] = "detection"
    out_shape_checks: ClassVar[bool] = True

    output_size: tuple[int, ...] = fld(IntList(min=1, length=2), doc="(height, width) of each box's map")
    sampling_ratio: int = fld(Int(), -1, "samples per bin along each dim (<= 0: adaptive, ceil(box / output))")

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return _interp_ops(self.sampling_ratio, prod(out))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def _maps(self, feats: Sequence[Shape]) -> tuple[int, int]:
        if any(len(f) != 4 for f in feats):
            raise ShapeError(
                "shape-mismatch", f"RoI Align takes (N, C, H, W) feature maps, got {list(map(list, feats))}"
            )
        if len({f[:2] for f in feats}) != 1:
            raise ShapeError("shape-mismatch", f"feature maps of different batch or channels: {list(map(list, feats))}")
        return feats[0][0], feats[0][1]

    def _steps(self, boxes: int, c: int, out: Shape) -> list[Step]:
        s = self.sampling_ratio
        h, w = self.output_size
        ops = f"{s}×{s} bilinear samples per element, 8 ops each" if s > 0 else "adaptive samples: not counted"
        return [
            Step("output shape", f"{boxes:,} boxes × {c} channels × {h}×{w}", _fmt(out)),
            Step("ops", ops, f"{sum(self.other_ops([], out).values()):,}"),
        ]


@register
@layer_dataclass
class RoiAlign(_RoiPool):
    torch_name: ClassVar[str] = "RoiAlign"
    torch_home: ClassVar[str] = "_detection_torch"
    summary: ClassVar[str] = "RoI Align: an output_size map per box (K, 5 rois) from one feature map (torchvision)"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2

    spatial_scale: float = fld(Float(min=0.0, min_open=True), 1.0, "box coordinates times this are map positions")
    aligned: bool = fld(Bool(), False, "shift the boxes by half a pixel (torchvision's aligned=True)")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        check_count(self, ins)
        _n, c = self._maps(ins[:1])
        rois = ins[1]
        if len(rois) != 2 or rois[1] != 5:
            raise ShapeError("shape-mismatch", f"rois are (K, 5): batch index, x1, y1, x2, y2; got {list(rois)}")
        return (rois[0], c, *self.output_size)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return self._steps(ins[1][0], ins[0][1], out)


@register
@layer_dataclass
class MultiScaleRoiAlign(_RoiPool):
    torch_name: ClassVar[str] = "MultiScaleRoiAlign"
    torch_home: ClassVar[str] = "_detection_torch"
    summary: ClassVar[str] = "RoI Align over an FPN's levels (one per scale), each box from its level (torchvision)"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    scales: tuple[float, ...] = fld(Floats(), doc="the map scale of each level (1/4, 1/8...): the first inputs")
    canonical_scale: int = fld(Int(min=1), 224, "a box of this size goes to canonical_level (FPN's eq. 1)")
    canonical_level: int = fld(Int(min=1), 4, "the level of a canonical_scale box")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n = len(self.scales)
        if len(ins) <= n:
            raise ShapeError(
                "wrong-arity", f"takes {n} feature maps (one per scale), then the boxes of each image; got {len(ins)}"
            )
        _n, c = self._maps(ins[:n])
        boxes = ins[n:]
        if any(len(b) != 2 or b[1] != 4 for b in boxes):
            raise ShapeError("shape-mismatch", f"boxes are (K, 4) per image, got {list(map(list, boxes))}")
        return (sum(b[0] for b in boxes), c, *self.output_size)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        n = len(self.scales)
        steps = self._steps(out[0], out[1], out)
        level = Step("levels", f"each box on one of {n} maps by its size (FPN's k₀ = {self.canonical_level} at "
                     f"{self.canonical_scale} px)", f"{n} levels")  # fmt: skip
        return [steps[0], level, steps[1]]
