"""Writes into a tensor: ``indexput`` (``x[idx] = v``, ``x[mask] = 0``, ``index_put_``) and
``sliceput`` (``x[:, :, 1:, 1:] = v``, ``copy_`` or an in-place op into a view of ``x``).

A write keeps its target's shape; the value written must broadcast to the region written (its
leading 1s dropped, as torch does). Values are copied, not computed: no MACs, no other ops (an
``accumulate`` put adds: one ``merge`` op per element written). Receptive field: pointwise when
the write leaves the spatial dims whole, else not a sliding window. In a built module an index
is read modulo its dim's size and a mask as non-zero (see ``indexing.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import broadcast_shapes
from cnnscope.layers._index_expr import IndexText, expand_items, expands_to, parse_index, region
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.compare import OptNumber
from cnnscope.layers.fields import Bool, FieldError, Int, OptInt, fld


@register
@layer_dataclass
class IndexPut(Layer):
    torch_name: ClassVar[str] = "IndexPut"
    torch_home: ClassVar[str] = "_index_torch"
    family: ClassVar[str] = "index"
    summary: ClassVar[str] = "x[idx] = v (index_put_): x with v written where index tensors (or a mask) point"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    dim: int = fld(Int(min=0), 0, "the first dim indexed (x[:, idx] = v is dim 1)")
    mask: bool = fld(Bool(), False, "the index is one boolean mask covering its dims (x[mask] = v)")
    length: int | None = fld(OptInt(min=0), None, "with mask: how many elements it selected at capture (checks v)")
    value: float | None = fld(OptNumber(), None, "the number written (null: the last input is the value)")
    accumulate: bool = fld(Bool(), False, "add v to what is there instead of writing it (dim 0 only)")

    def validate(self) -> None:
        if self.accumulate and (self.dim != 0 or self.mask):
            raise FieldError("accumulate writes with index tensors from dim 0 only", "accumulate")
        if self.length is not None and not self.mask:
            raise FieldError("length is the count a mask selects: it needs mask: true", "length")

    def written(self, ins: Sequence[Shape]) -> Shape:
        """The shape of the region written (``x[idx]``)."""
        src = ins[0]
        n_idx = len(ins) - 1 - (self.value is None)
        if n_idx < 1 or (self.mask and n_idx != 1):
            what = ("a mask" if self.mask else "index tensors") + ("" if self.value is not None else " and the value")
            raise ShapeError("wrong-arity", f"indexput takes x, {what}, got {len(ins)} inputs")
        if self.dim + (len(ins[1]) if self.mask else n_idx) > len(src):
            raise ShapeError("bad-dim", f"the index from dim {self.dim} covers more dims than the input {list(src)}")
        if self.mask:
            r = len(ins[1])
            if r == 0 or tuple(src[self.dim : self.dim + r]) != tuple(ins[1]):
                raise ShapeError("shape-mismatch", f"the mask {list(ins[1])} does not match the input {list(src)}")
            n = 1 if self.length is None else self.length
            return (*src[: self.dim], n, *src[self.dim + r :])
        idx = broadcast_shapes(ins[1 : 1 + n_idx], "writes through index tensors that")
        if any(src[self.dim + j] == 0 for j in range(n_idx)) and prod(idx) > 0:
            raise ShapeError("bad-dim", f"writes into a dim of size 0 (input {list(src)})")
        return (*src[: self.dim], *idx, *src[self.dim + n_idx :])

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        target = self.written(ins)
        if self.value is None:
            expands_to(ins[-1], target, "indexput")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        self.check_inputs(ins)
        return ins[0]

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        n = prod(self.written(ins)) if self.accumulate else 0
        return {"merge": n} if n else {}

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.POINTWISE if self.dim + (len(ins[1]) if self.mask else len(ins) - 1) <= 2 else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        what = f"{self.value:g}" if self.value is not None else f"a {_fmt(ins[-1])} value"
        how = "added into" if self.accumulate else "written into"
        return [
            Step("output shape", f"{what} {how} {_fmt(ins[0])} where the index points", _fmt(out)),
            Step("cost", "values are copied" + (", one add each" if self.accumulate else ""),
                 f"{sum(self.other_ops(ins, out).values()):,} ops"),
        ]  # fmt: skip


@register
@layer_dataclass
class SlicePut(Layer):
    torch_name: ClassVar[str] = "SlicePut"
    torch_home: ClassVar[str] = "_index_torch"
    family: ClassVar[str] = "index"
    summary: ClassVar[str] = 'x[index] = v with a basic index ("[:, :, 1:, 1:]"): x with v written into that region'
    max_inputs: ClassVar[int | None] = 2

    index: str = fld(IndexText(), doc='the region written, as Python writes it: "[:, :, 1:, 1:]", "[0, :3, :h]"')
    value: float | None = fld(OptNumber(), None, "the number written (null: the second input is the value)")

    def written(self, ins: Sequence[Shape]) -> Shape:
        want = 1 if self.value is not None else 2
        if len(ins) != want:
            raise ShapeError(
                "wrong-arity", f"sliceput takes {want} input{'s' if want > 1 else ''} here, got {len(ins)}"
            )
        return region(ins[0], parse_index(self.index))

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        target = self.written(ins)
        if self.value is None:
            expands_to(ins[1], target, f"sliceput {self.index}")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        self.check_inputs(ins)
        return ins[0]

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return ParamCount()

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        items = expand_items(parse_index(self.index), len(ins[0]))
        if None in items:
            return RFMap.UNSUPPORTED
        whole = all(i == slice(None) for d, i in enumerate(items) if d >= 2)
        return RFMap.POINTWISE if whole else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        what = f"{self.value:g}" if self.value is not None else f"a {_fmt(ins[1])} value"
        return [
            Step("output shape", f"{what} written into x{self.index} of {_fmt(ins[0])}", _fmt(out)),
            Step("cost", f"{prod(self.written(ins)):,} values copied, none computed", "0 ops"),
        ]
