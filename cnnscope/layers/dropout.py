"""Dropout, in all its forms: the identity at inference, so shape- and cost-free."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, Shape, define, layer_dataclass
from cnnscope.layers.fields import Float, fld


@layer_dataclass
class _Dropout(Layer):
    family: ClassVar[str] = "dropout"
    keeps_layout: ClassVar[bool] = True
    linear_map: ClassVar[bool] = True
    ranks: ClassVar[tuple[int, ...] | None] = None

    def commutes_with_monotone(self) -> bool:
        return True  # the identity at inference

    p: float = fld(Float(min=0.0, max=1.0), 0.5, "probability of zeroing an element (training only)")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if self.ranks is not None and len(ins[0]) not in self.ranks:
            want = " or ".join(f"{r}-d" for r in self.ranks)
            raise ShapeError("shape-mismatch", f"expects a {want} input, got {len(ins[0])}-d {list(ins[0])}")


for _torch_name, _ranks, _summary in [
    ("Dropout", None, "zeroes elements at random while training"),
    ("Dropout1d", (3,), "zeroes whole channels of (N, C, L) while training"),
    ("Dropout2d", (4,), "zeroes whole channels of (N, C, H, W) while training"),
    ("Dropout3d", (5,), "zeroes whole channels of (N, C, D, H, W) while training"),
    ("AlphaDropout", None, "dropout that keeps SELU's mean and variance"),
]:
    define(_Dropout, _torch_name, summary=_summary, ranks=_ranks)
