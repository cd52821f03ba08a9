"""``permute``: reorders the dims of a tensor (``x.permute``, ``torch.transpose``), batch first.

ConvNeXt moves its channels last around a layer norm and two linears and back again; a
permute is how such a layout change appears in the graph. It moves values without any
arithmetic: no parameters, no operations. Any order torch takes is allowed, the batch's
too: attention code moves it (``qkv.permute(2, 0, 3, 1, 4)``) and a later op brings it back.

Receptive fields are carried per spatial dim by position, so a permute is pointwise only
when every spatial dim stays where it was (the identity permutation); any other order makes
the positions that follow mean other input dims, and the field is reported as unknown.

``to_torch`` builds a small module from ``cnnscope/layers/_permute_torch.py``, imported
lazily so that the analytic path never loads torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import Rearranges
from cnnscope.layers.base import RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import FieldError, IntList, fld


@register
@layer_dataclass
class Permute(Rearranges):
    torch_name: ClassVar[str] = "Permute"  # not a torch.nn class: to_torch builds cnnscope's own
    summary: ClassVar[str] = "reorders the dims, e.g. [0, 2, 3, 1] for channels last"

    dims: tuple[int, ...] = fld(
        IntList(min=0), doc="the input dim each output dim takes, batch included: a permutation of 0..rank-1"
    )

    def validate(self) -> None:
        if len(set(self.dims)) != len(self.dims):
            raise FieldError(f"dims {list(self.dims)} repeat a dim: expected a permutation", field="dims")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        rank = len(ins[0])
        if sorted(self.dims) != list(range(rank)):
            raise ShapeError(
                "shape-mismatch",
                f"dims {list(self.dims)} are not a permutation of the {rank} dims of {list(ins[0])}",
                hint=f"list each of 0..{rank - 1} once",
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return tuple(ins[0][d] for d in self.dims)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        rank = len(ins[0])
        keeps = tuple(self.dims[2:]) == tuple(range(2, rank)) and self.dims[0] == 0
        return RFMap.POINTWISE if keeps else RFMap.UNSUPPORTED

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers._permute_torch import Permute

        return Permute(self.dims)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        moves = ", ".join(f"{i}←{d}" for i, d in enumerate(self.dims) if i != d) or "none (the identity)"
        return [
            Step("output shape", f"output dim ← input dim: {moves}", _fmt(out)),
            Step("cost", "values are moved, not computed", "0 parameters, 0 ops"),
        ]
