"""``repeatinterleave``: ``x.repeat_interleave(repeats, dim)``, each element ``repeats`` times
in a row along ``dim`` (GCViT repeats its global query once per window along the batch), or
of the flattened input without a ``dim``. ``repeats`` is one count for every element or one
per element of that dim.

A copy: no parameters, no ops. Receptive field: repeating along the batch or the channels
leaves positions alone; along a spatial dim it is nearest upsampling by a whole factor, not a
sliding window; without a dim the map is flattened (every unit, as after ``flatten``, is
reported as seeing the whole input).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import norm_dim
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import IntList, OptInt, fld


@register
@layer_dataclass
class RepeatInterleave(Layer):
    torch_name: ClassVar[str] = "RepeatInterleave"
    torch_home: ClassVar[str] = "_functional_torch"
    family: ClassVar[str] = "reshape"
    rearranges: ClassVar[bool] = True
    summary: ClassVar[str] = "each element repeated in a row along a dim (x.repeat_interleave(repeats, dim))"

    repeats: tuple[int, ...] = fld(IntList(min=0), doc="one count for all elements, or one per element of the dim")
    dim: int | None = fld(OptInt(), None, "the dim to repeat along (null: the flattened input)")

    def _along(self, ins: Sequence[Shape]) -> tuple[int | None, int]:
        """The dim (None: flattened) and the number of elements repeated."""
        shape = ins[0]
        if self.dim is None:
            return None, prod(shape)
        d = norm_dim(self.dim, len(shape))
        return d, shape[d]

    def _total(self, ins: Sequence[Shape]) -> int:
        d, n = self._along(ins)
        if len(self.repeats) == 1:
            total = n * self.repeats[0]
        elif len(self.repeats) != n:
            where = "the flattened input" if d is None else f"dim {d} of {list(ins[0])}"
            raise ShapeError("shape-mismatch", f"{len(self.repeats)} repeat counts for the {n} elements of {where}")
        else:
            total = sum(self.repeats)
        if total < 1:
            raise ShapeError("shape-too-small", f"repeats {list(self.repeats)} leave nothing of {list(ins[0])}")
        return total

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._total(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        d, _n = self._along(ins)
        total = self._total(ins)
        if d is None:
            return (total,)
        out = list(ins[0])
        out[d] = total
        return tuple(out)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        d, _n = self._along(ins)
        if d is None:
            return RFMap.GLOBAL if len(ins[0]) >= 3 else RFMap.POINTWISE
        return RFMap.POINTWISE if d < 2 else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d, n = self._along(ins)
        where = "the flattened input" if d is None else f"dim {d}"
        each = f"× {self.repeats[0]}" if len(self.repeats) == 1 else f"repeats {list(self.repeats)} summed"
        return [
            Step("output shape", f"{where}: {n} elements {each}", _fmt(out)),
            Step("cost", "values are copied", "0 MACs"),
        ]
