"""``pad``: ``F.pad(x, pad, mode, value)`` over any trailing dims, as torch takes it: ``pad``
lists (low, high) pairs from the last dim backwards, and a negative entry crops. ``mode`` is
``constant`` (fill with ``value``; ``-inf``, the word, is a max pool's "same" padding),
``reflect``, ``replicate`` or ``circular``; the three last pad 1 to 3 trailing dims of an input
with one or two dims before them, as torch does, within torch's limits (a reflection reads at
most size − 1 positions back, a circular pad wraps around at most once and never crops).

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
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Choice, FieldError, FloatOrInf, IntList, as_float, fld

_MODES = ("constant", "reflect", "replicate", "circular")
_LIMITS = {
    "reflect": "a reflection reads at most size − 1 positions back, on either side",
    "replicate": "nothing is left to repeat",
    "circular": "a circular pad wraps around at most once",
}


def _reads_within(mode: str, n: int, lo: int, hi: int) -> bool:
    """Whether torch takes this (low, high) pad of a dim of size ``n`` in ``mode`` (the output
    size, at least 1, is checked apart)."""
    if mode == "reflect":
        return lo < n and hi < n
    if mode == "circular":
        return lo <= n and hi <= n
    return True


@register
@layer_dataclass
class Pad(Layer):
    type_name: ClassVar[str] = "pad"
    torch_name: ClassVar[str] = "ModePad"  # cnnscope's own module
    family: ClassVar[str] = "reshape"
    rearranges: ClassVar[bool] = True
    summary: ClassVar[str] = "padding of any trailing dims in any mode, as F.pad (negative entries crop)"

    pad: tuple[int, ...] = fld(
        IntList(min=-(10**9)), doc="(low, high) per dim, from the last dim backwards, as F.pad takes it"
    )
    value: float | str = fld(FloatOrInf(), 0.0, "the fill value of constant padding (inf or -inf: the words)")
    mode: str = fld(Choice(_MODES), "constant", "constant (the value), reflect, replicate or circular")

    def validate(self) -> None:
        if not self.pad or len(self.pad) % 2:
            raise FieldError(f"pad {list(self.pad)} must hold (low, high) pairs", field="pad")
        if self.mode != "constant" and as_float(self.value) != 0:
            raise FieldError(f"{self.mode} padding takes no fill value (got {self.value})", field="value")
        if self.mode != "constant" and len(self.pad) > 6:
            raise FieldError(f"{self.mode} padding pads at most 3 dims, got {len(self.pad) // 2}", field="pad")
        if self.mode == "circular" and min(self.pad) < 0:
            # torch crops, then wraps by copying within its output: with a crop those copies can
            # overlap, and whether torch refuses or runs depends on the memory layout
            raise FieldError(f"circular padding cannot crop (a negative entry), got {list(self.pad)}", field="pad")

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
        k = len(self.pad) // 2
        if self.mode != "constant" and rank not in (k + 1, k + 2):
            raise ShapeError(
                "shape-mismatch",
                f"{self.mode} padding of {k} dim{'s' if k > 1 else ''} takes a {k + 1}-d or {k + 2}-d input, "
                f"got {rank}-d {list(ins[0])}",
            )
        for d, (lo, hi) in enumerate(self._pairs(rank)):
            n = ins[0][d]
            if n + lo + hi < 1 or (self.mode == "constant" and n + min(lo, 0) + min(hi, 0) < 0):
                raise ShapeError("shape-mismatch", f"pad {list(self.pad)} crops dim {d} of {list(ins[0])} to nothing")
            if (lo, hi) != (0, 0) and not _reads_within(self.mode, n, lo, hi):
                rule = _LIMITS[self.mode]
                raise ShapeError(
                    "shape-mismatch", f"{self.mode} pad ({lo}, {hi}) of dim {d} (size {n}) is too large: {rule}"
                )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return tuple(n + lo + hi for n, (lo, hi) in zip(ins[0], self._pairs(len(ins[0])), strict=True))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        rank = len(ins[0])
        pairs = self._pairs(rank)
        if rank < 3 or all(p == (0, 0) for p in pairs[2:]):
            return RFMap.POINTWISE
        nd = rank - 2
        return RFMap.window((1,) * nd, (1,) * nd, tuple(lo for lo, _ in pairs[2:]))

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {}

    def border_fill(self) -> str:
        if self.mode != "constant":
            return self.mode
        return "-inf" if self.value == "-inf" else "zeros"  # a constant fill marks the border as zeros do

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _functional_torch

        return _functional_torch.ModePad(self.pad, as_float(self.value), self.mode)

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
