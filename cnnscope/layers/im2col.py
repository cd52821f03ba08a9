"""Sliding blocks as data: ``unfold`` (``nn.Unfold`` / ``F.unfold``, im2col), ``fold``
(``nn.Fold`` / ``F.fold``, col2im) and ``unfolddim`` (``Tensor.unfold``: the windows of one
dim as a new last dim, HaloNet's and RAFT's neighbourhoods).

No multiply-adds: unfold and unfolddim copy values; fold sums the values that land on one
position (op rule, docs/conventions.md, category ``merge``: one add per input value,
``numel(input)``). Receptive field: a column of ``unfold`` sees exactly one window, as the
convolution it is the first half of (kernel, stride, dilation, padding); fold spreads each
column over a window of outputs, as a transposed convolution does: not a sliding window.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import norm_dim
from cnnscope.layers.base import Layer, RFMap, Shape, Step, Window, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Int, IntList, Ints, fld
from cnnscope.layers.window import dim_name


def blocks(spatial: Sequence[int], k: Sequence[int], d: Sequence[int], p: Sequence[int], s: Sequence[int]) -> list[int]:
    """Sliding blocks per spatial dim: ``floor((I + 2p − d·(k − 1) − 1) / s) + 1``."""
    return [(n + 2 * pi - di * (ki - 1) - 1) // si + 1 for n, ki, di, pi, si in zip(spatial, k, d, p, s, strict=True)]


@layer_dataclass
class _Blocks(Layer):
    family: ClassVar[str] = "reshape"
    ndim: ClassVar[int | None] = 2  # torch's im2col / col2im take 2-d maps only

    kernel_size: tuple[int, ...] = fld(Ints(), doc="block size, one per spatial dim or one for both")
    dilation: tuple[int, ...] = fld(Ints(), 1, "spacing between a block's elements")
    padding: tuple[int, ...] = fld(Ints(min=0), 0, "zero padding on both sides of each spatial dim")
    stride: tuple[int, ...] = fld(Ints(), 1, "step between blocks")

    def _blocks(self, spatial: Sequence[int]) -> list[int]:
        got = blocks(spatial, self.kernel_size, self.dilation, self.padding, self.stride)
        for i, (n, b) in enumerate(zip(spatial, got, strict=True)):
            if b < 1:
                keff = self.dilation[i] * (self.kernel_size[i] - 1) + 1
                raise ShapeError(
                    "shape-too-small",
                    f"no block fits along {dim_name(2, i)}: size {n} + padding 2·{self.padding[i]} is smaller "
                    f"than the block's span {keff}",
                )
        return got


@register
@layer_dataclass
class Unfold(_Blocks):
    torch_name: ClassVar[str] = "Unfold"
    rearranges: ClassVar[bool] = True
    summary: ClassVar[str] = "im2col: every sliding block of a 2-d map as a column, (N, C·∏k, L) (nn.Unfold)"

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, c, *spatial = ins[0]
        return (n, c * prod(self.kernel_size), prod(self._blocks(spatial)))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return self.window(ins).rf()

    def window(self, ins: Sequence[Shape]) -> Window:
        return Window(
            tuple(self.kernel_size), tuple(self.stride), tuple(self.dilation), tuple((p, p) for p in self.padding)
        )

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        bs = self._blocks(ins[0][2:])
        return [
            Step("blocks", " · ".join(str(b) for b in bs) + " positions of the window", f"L = {prod(bs):,}"),
            Step(
                "output shape", f"C·∏k = {ins[0][1]}·{'·'.join(map(str, self.kernel_size))} rows, L columns", _fmt(out)
            ),
            Step("cost", "values are copied (a block's values overlap its neighbours')", "0 MACs"),
        ]


@register
@layer_dataclass
class Fold(_Blocks):
    torch_name: ClassVar[str] = "Fold"
    # its window is 2-d (ndim gives the fields one entry per spatial dim); it takes (N, C·∏k, L)
    # columns, which its own check_inputs holds
    summary: ClassVar[str] = "col2im: columns (N, C·∏k, L) summed back into a 2-d map of output_size (nn.Fold)"

    output_size: tuple[int, ...] = fld(IntList(min=1, length=2), doc="the map's (H, W)")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        shape = ins[0]
        if len(shape) != 3:
            raise ShapeError("shape-mismatch", f"expects (N, C·∏k, L) columns, got {len(shape)}-d {list(shape)}")
        k = prod(self.kernel_size)
        if shape[1] % k:
            raise ShapeError(
                "shape-mismatch",
                f"its {shape[1]} rows are not a whole number of {'×'.join(map(str, self.kernel_size))} blocks",
            )
        want = prod(self._blocks(self.output_size))
        if shape[2] != want:
            raise ShapeError(
                "shape-mismatch",
                f"gets {shape[2]} columns, but {list(self.output_size)} holds {want} blocks of this window",
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, rows, _l = ins[0]
        return (n, rows // prod(self.kernel_size), *self.output_size)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"merge": prod(ins[0])}

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def window(self, ins: Sequence[Shape]) -> Window | None:
        return None  # it spreads each column over a window of outputs: no window slides over its input

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f"{ins[0][1]} rows / ∏k channels at {list(self.output_size)}", _fmt(out)),
            Step("ops", "one add per input value (overlapping blocks sum)", f"{prod(ins[0]):,}"),
        ]


@register
@layer_dataclass
class UnfoldDim(Layer):
    torch_name: ClassVar[str] = "UnfoldDim"
    torch_home: ClassVar[str] = "_functional_torch"
    family: ClassVar[str] = "reshape"
    rearranges: ClassVar[bool] = True
    summary: ClassVar[str] = "x.unfold(dim, size, step): windows of one dim as a new last dim (a view)"

    dim: int = fld(Int(), doc="the dim to take windows of (negative: from the end)")
    size: int = fld(Int(min=1), doc="window length")
    step: int = fld(Int(min=1), doc="step between windows")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        shape = ins[0]
        d = norm_dim(self.dim, max(len(shape), 1))
        n = shape[d] if shape else 1
        if self.size > n:
            raise ShapeError("shape-too-small", f"a window of {self.size} does not fit dim {d} of {list(shape)}")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        shape = ins[0]
        d = norm_dim(self.dim, max(len(shape), 1))
        out = list(shape)
        out[d] = (shape[d] - self.size) // self.step + 1
        return (*out, self.size)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        # windows of the batch or the channels leave positions alone; windows of a spatial dim
        # move its positions into a new dim, which no size/stride/padding describes
        return RFMap.POINTWISE if norm_dim(self.dim, len(ins[0])) < 2 else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d = norm_dim(self.dim, len(ins[0]))
        return [
            Step(
                "output shape",
                f"dim {d}: ({ins[0][d]} − {self.size}) / {self.step} + 1 windows of {self.size}, as a new last dim",
                _fmt(out),
            ),
            Step("cost", "a view: values are not copied", "0 MACs"),
        ]
