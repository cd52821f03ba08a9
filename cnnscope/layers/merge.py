"""Merges of several branches: add (residual), concat (Inception), mul (gating, SE).

``from:`` names their inputs. The receptive field of a merge is that of its widest input
(the rf analyzer does this; merges themselves are pointwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, RFKind, RFStep, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Int, fld


def _shapes(ins: Sequence[Shape]) -> str:
    return ", ".join(str(list(s)) for s in ins)


@register
@layer_dataclass
class Add(Layer):
    type_name: ClassVar[str] = "add"
    torch_name: ClassVar[str] = "Add"
    family: ClassVar[str] = "merge"
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "elementwise sum of two or more same-shaped inputs (residual)"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if any(s != ins[0] for s in ins[1:]):
            raise ShapeError(
                "shape-mismatch",
                f"adds inputs of different shapes: {_shapes(ins)}",
                hint="a residual branch needs a projection (1×1 conv, stride) to match the main path",
            )

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"merge": prod(out) * (len(ins) - 1)}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Add()

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [Step("output shape", f"{len(ins)} inputs of {_fmt(out)} summed", _fmt(out))]


@register
@layer_dataclass
class Mul(Layer):
    type_name: ClassVar[str] = "mul"
    torch_name: ClassVar[str] = "Mul"
    family: ClassVar[str] = "merge"
    summary: ClassVar[str] = "elementwise product with broadcasting (squeeze-excitation gates)"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        rank = max(len(s) for s in ins)
        padded = [(1,) * (rank - len(s)) + tuple(s) for s in ins]
        out = []
        for dims in zip(*padded):
            sizes = {d for d in dims if d != 1}
            if len(sizes) > 1:
                raise ShapeError(
                    "shape-mismatch",
                    f"multiplies inputs that do not broadcast: {_shapes(ins)}",
                    hint="each dim must be equal or 1",
                )
            out.append(sizes.pop() if sizes else 1)
        return tuple(out)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"merge": prod(out) * (len(ins) - 1)}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Mul()


@register
@layer_dataclass
class Concat(Layer):
    type_name: ClassVar[str] = "concat"
    torch_name: ClassVar[str] = "Concat"
    family: ClassVar[str] = "merge"
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "join inputs along a dim (default: channels), as torch.cat"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None

    dim: int = fld(Int(), 1, "the dim to join along (1: channels)")

    def _dim(self, rank: int) -> int:
        return self.dim + rank if self.dim < 0 else self.dim

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        rank = len(ins[0])
        if any(len(s) != rank for s in ins):
            raise ShapeError("shape-mismatch", f"joins inputs of different ranks: {_shapes(ins)}")
        d = self._dim(rank)
        if not 0 <= d < rank:
            raise ShapeError("bad-dim", f"dim {self.dim} is out of range for {rank}-d inputs")
        for s in ins[1:]:
            if any(a != b for i, (a, b) in enumerate(zip(s, ins[0])) if i != d):
                raise ShapeError(
                    "shape-mismatch",
                    f"joins along dim {d}, but the other dims differ: {_shapes(ins)}",
                    hint="every branch must keep the same batch and spatial size",
                )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        d = self._dim(len(ins[0]))
        out = list(ins[0])
        out[d] = sum(s[d] for s in ins)
        return tuple(out)

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Concat(self.dim)

    def rf(self, ins: Sequence[Shape]) -> RFStep | str:
        # joined along a spatial dim, output positions no longer map to input positions by one stride
        return RFKind.UNSUPPORTED if self._dim(len(ins[0])) >= 2 else RFKind.POINTWISE

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d = self._dim(len(ins[0]))
        return [Step("output shape", f"dim {d}: " + " + ".join(str(s[d]) for s in ins), _fmt(out))]
