"""``pad``: ``F.pad(x, pad, value=v)`` in constant mode over any trailing dims, as torch takes
it: ``pad`` lists (low, high) pairs from the last dim backwards, and a negative entry crops.

The ``zeropad*d`` / ``reflectionpad*d`` / ``replicationpad*d`` types are the spatial paddings a
spec uses; this one is what a module's ``F.pad`` on a channels-last map (Swin's windows) or on
the channels is captured as. Receptive field: a pad of dims 2 and on shifts positions there
(kernel 1, stride 1, the low pad as padding); padding only the batch or the channels leaves
positions alone. (On a channels-last map the receptive field is already not applicable: the
permute before it says so.)
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, RFKind, RFStep, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import FieldError, Float, IntList, fld


@register
@layer_dataclass
class Pad(Layer):
    type_name: ClassVar[str] = "pad"
    torch_name: ClassVar[str] = "Pad"  # cnnscope's own module
    family: ClassVar[str] = "reshape"
    summary: ClassVar[str] = "constant padding of any trailing dims, as F.pad (negative entries crop)"

    pad: tuple[int, ...] = fld(
        IntList(min=-(10**9)), doc="(low, high) per dim, from the last dim backwards, as F.pad takes it"
    )
    value: float = fld(Float(), 0.0, "the fill value")

    def validate(self) -> None:
        if not self.pad or len(self.pad) % 2:
            raise FieldError(f"pad {list(self.pad)} must hold (low, high) pairs", field="pad")

    def _pairs(self, rank: int) -> list[tuple[int, int]]:
        """(low, high) for each dim of a rank-``rank`` input, in dim order."""
        pairs = [(0, 0)] * rank
        for k in range(len(self.pad) // 2):
            pairs[rank - 1 - k] = (self.pad[2 * k], self.pad[2 * k + 1])
        return pairs

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        rank = len(ins[0])
        if len(self.pad) // 2 > rank:
            raise ShapeError(
                "shape-mismatch", f"pad {list(self.pad)} pads {len(self.pad) // 2} dims of a {rank}-d input"
            )
        for d, (lo, hi) in enumerate(self._pairs(rank)):
            if ins[0][d] + lo + hi < 1 or ins[0][d] + min(lo, 0) + min(hi, 0) < 0:
                raise ShapeError("shape-mismatch", f"pad {list(self.pad)} crops dim {d} of {list(ins[0])} to nothing")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return tuple(n + lo + hi for n, (lo, hi) in zip(ins[0], self._pairs(len(ins[0])), strict=True))

    def rf(self, ins: Sequence[Shape]) -> RFStep | str:
        rank = len(ins[0])
        pairs = self._pairs(rank)
        if rank < 3 or all(p == (0, 0) for p in pairs[2:]):
            return RFKind.POINTWISE
        nd = rank - 2
        return RFStep((1,) * nd, (1,) * nd, tuple(lo for lo, _ in pairs[2:]))

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Pad(self.pad, self.value)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        grow = ", ".join(
            f"dim {d}: {n} + {lo} + {hi}"
            for d, (n, (lo, hi)) in enumerate(zip(ins[0], self._pairs(len(ins[0])), strict=True))
            if (lo, hi) != (0, 0)
        )
        return [
            Step("output shape", grow or "nothing padded", _fmt(out)),
            Step("cost", "values are copied", f"{prod(out):,} values"),
        ]
