"""Advanced indexing: ``index`` (``x[idx]``, ``x[:, idx_a, idx_b]``, ``x[:, [0, 5]]``,
``index_select``) and ``masked`` (``x[mask]``); the writes are in ``writes.py``.

Shapes follow torch's rules for one block of adjacent tensor indices: an ``index`` gives
``x.shape[:dim] + broadcast(index shapes) + x.shape[dim + k:]`` for ``k`` index tensors, so its
size is analytic, read from its index inputs (``indices: []`` gathers nothing: ``x[:, :0]``). A
boolean mask selects a number of elements that only the data decides: ``masked`` holds the count
measured at capture in ``length`` (its explanation says so) and is honest for that input only.

Cost: values are gathered, not computed: no MACs, no other ops. Receptive field: a gather picks
positions by value, not by a sliding window (n/a), unless it keeps every spatial position in
place (an index of the batch or the channels).

In a built module (``to_torch``), an index is read modulo its dim's size, as integers, and a
mask as non-zero, so a graph runs on any input; ``masked`` keeps its measured ``length`` (the
selection cut or zero-padded to it).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import broadcast_shapes, check_count, norm_dim
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Dims, Int, Kind, fld, kind_dataclass


@kind_dataclass
class OptIndices(Kind):
    """A list of integers, or null."""

    def coerce(self, value: Any, ndim: int | None) -> tuple[int, ...] | None:
        if value is None:
            return None
        return Dims(empty=True).coerce(value, ndim)  # [] gathers nothing: x[:, :0]

    def describe(self, ndim: int | None) -> str:
        return "a list of integers or null"


# -- gathers ----------------------------------------------------------------------------------


@register
@layer_dataclass
class Index(Layer):
    torch_name: ClassVar[str] = "Index"
    torch_home: ClassVar[str] = "_index_torch"
    family: ClassVar[str] = "index"
    rearranges: ClassVar[bool] = True
    summary: ClassVar[str] = "x[:, idx] with integer index tensors (further inputs) or literal indices, from dim"
    max_inputs: ClassVar[int | None] = None

    dim: int = fld(Int(), 0, "the first dim indexed; the dims before it are kept whole (x[:, :, idx] is dim 2)")
    indices: tuple[int, ...] | None = fld(
        OptIndices(), None, "literal indices along dim (x[:, [0, 2, 5]]); null: the further inputs are index tensors"
    )

    def _parts(self, ins: Sequence[Shape]) -> tuple[int, int, Shape]:
        """The first dim indexed, how many dims the indices cover, the indices' shape."""
        src = ins[0]
        idx: Shape
        if self.indices is not None:
            if len(ins) != 1:
                raise ShapeError("wrong-arity", f"index with literal indices takes 1 input, got {len(ins)}")
            k, idx = 1, (len(self.indices),)
        else:
            if len(ins) < 2:
                raise ShapeError("wrong-arity", "index needs its index tensors as further inputs (or `indices`)")
            k, idx = len(ins) - 1, broadcast_shapes(ins[1:], "indexes with index tensors that")
        d = norm_dim(self.dim, len(src)) if src else 0
        if d + k > len(src):
            raise ShapeError(
                "bad-dim", f"{k} index tensor(s) from dim {d} index more dims than the input {list(src)} has"
            )
        for j in range(k):
            size = src[d + j]
            if self.indices is not None and any(not -size <= i < size for i in self.indices):
                raise ShapeError("bad-dim", f"indices {list(self.indices)} are out of range for dim {d} of size {size}")
            if size == 0 and prod(idx) > 0:
                raise ShapeError("bad-dim", f"indexes dim {d + j} of size 0 (input {list(src)})")
        return d, k, idx

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._parts(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        d, k, idx = self._parts(ins)
        return (*ins[0][:d], *idx, *ins[0][d + k :])

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        d, k, idx = self._parts(ins)
        return RFMap.POINTWISE if d + k <= 2 and len(idx) == k else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d, k, idx = self._parts(ins)
        by = f"{len(self.indices or ())} literal indices" if self.indices is not None else f"index {_fmt(idx)}"
        dims = f"dim {d}" if k == 1 else f"dims {d}..{d + k - 1}"
        return [
            Step("output shape", f"{dims} of {_fmt(ins[0])} gathered by {by}", _fmt(out)),
            Step("cost", "values are gathered, not computed", "0 ops"),
        ]


@layer_dataclass
class _Measured(Layer):
    """A layer whose output size the data decides: ``length`` is what capture measured."""

    data_dependent: ClassVar[bool] = True

    length: int = fld(Int(min=0), doc="the size the data gave at capture (another input gives another)")

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def _said(self, what: str) -> Step:
        return Step(
            "data-dependent",
            f"{what}: {self.length:,} for the input measured at capture",
            "holds for that input only",
            why="how many the data selects is known only by running it; cnnscope does not guess a formula",
        )


@register
@layer_dataclass
class Masked(_Measured):
    torch_name: ClassVar[str] = "Masked"
    torch_home: ClassVar[str] = "_index_torch"
    family: ClassVar[str] = "index"
    rearranges: ClassVar[bool] = True
    summary: ClassVar[str] = "x[mask]: the elements where a boolean mask (second input) is true, from dim"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2

    dim: int = fld(Int(min=0), 0, "the first dim the mask covers (x[:, mask] is dim 1)")

    def _covers(self, ins: Sequence[Shape]) -> int:
        check_count(self, ins)
        src, mask = ins[0], ins[1]
        if not mask:
            raise ShapeError("shape-mismatch", "a 0-d mask selects no dim")
        r = len(mask)
        if self.dim + r > len(src) or tuple(src[self.dim : self.dim + r]) != tuple(mask):
            raise ShapeError(
                "shape-mismatch",
                f"the mask {list(mask)} does not match dims {self.dim}..{self.dim + r - 1} of the input {list(src)}",
            )
        if self.length > prod(mask):
            raise ShapeError("shape-mismatch", f"length {self.length} exceeds the mask's {prod(mask)} elements")
        return r

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._covers(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        r = self._covers(ins)
        return (*ins[0][: self.dim], self.length, *ins[0][self.dim + r :])

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        r = self._covers(ins)
        return [
            Step("output shape", f"the {_fmt(ins[1])} mask's true elements of {_fmt(ins[0])}", _fmt(out)),
            self._said(f"true elements of {prod(ins[0][self.dim : self.dim + r]):,}"),
        ]
