"""``reduce``: mean, sum, amax or amin over some dims (``x.mean(dim=(2, 3))``, ``x.sum(-1)``).

Op rule (docs/conventions.md, category ``pool``, as pooling over the same elements counts):
``mean`` reads every input element into a sum and divides each output once, ``numel(input)``
ops (global average pooling's count); ``sum`` adds, ``numel(input) − numel(output)``; ``amax``
and ``amin`` compare, ``numel(input) − numel(output)`` (max pooling's ``k − 1`` per output).

Receptive field: reducing every spatial dim (2..) is global (each output sees the whole
map); reducing only the batch or channel dim is pointwise when the spatial dims keep their
places (``keepdim``, or an input without spatial dims); anything else (some spatial dims
reduced, or the spatial dims moved down by a dropped dim) is not a sliding window.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import norm_dim
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Choice, Dims, FieldError, fld


@register
@layer_dataclass
class Reduce(Layer):
    torch_name: ClassVar[str] = "Reduce"
    torch_home: ClassVar[str] = "_torch_ops"
    family: ClassVar[str] = "reduce"
    pools: ClassVar[bool] = True
    summary: ClassVar[str] = "mean, sum, amax or amin over dims (torch.mean(x, dims, keepdim), ...)"

    op: str = fld(Choice(("mean", "sum", "amax", "amin")), doc="the reduction")
    dims: tuple[int, ...] = fld(Dims(), doc="the dims to reduce (0 is the batch; negative: from the end)")
    keepdim: bool = fld(Bool(), False, "keep each reduced dim with size 1")

    def validate(self) -> None:
        if len(set(self.dims)) != len(self.dims):
            raise FieldError(f"dims {list(self.dims)} repeat a dim", "dims")

    def _dims(self, ins: Sequence[Shape]) -> set[int]:
        rank = len(ins[0])
        ds = [norm_dim(d, rank) for d in self.dims]
        if len(set(ds)) != len(ds):
            raise ShapeError("bad-dim", f"dims {list(self.dims)} name one dim twice for a {rank}-d input")
        return set(ds)

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._dims(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        ds = self._dims(ins)
        if self.keepdim:
            return tuple(1 if i in ds else s for i, s in enumerate(ins[0]))
        return tuple(s for i, s in enumerate(ins[0]) if i not in ds)

    def linear_at_inference(self) -> bool:
        return self.op in ("mean", "sum")

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        n = prod(ins[0]) if self.op == "mean" else prod(ins[0]) - prod(out)
        return {"pool": n} if n else {}

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        rank = len(ins[0])
        ds = self._dims(ins)
        spatial = set(range(2, rank))
        if spatial and spatial <= ds:
            return RFMap.GLOBAL
        if ds & spatial:
            return RFMap.UNSUPPORTED
        if self.keepdim or not spatial:
            return RFMap.POINTWISE
        return RFMap.UNSUPPORTED  # the batch or channel dim dropped: the spatial dims move down

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        ds = sorted(self._dims(ins))
        k = prod(ins[0][d] for d in ds)
        return [
            Step("output shape", f"{self.op} over dims {ds} ({k:,} values each)", _fmt(out)),
            Step("ops", f"{_fmt(ins[0])} input values", f"{sum(self.other_ops(ins, out).values()):,}"),
        ]
