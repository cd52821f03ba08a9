"""Merges of several branches: add (residual), concat (Inception), mul (gating, SE), sub,
div, stack.

``from:`` names their inputs. The receptive field of a merge is that of its widest input
(the rf analyzer does this; merges themselves are pointwise). ``mul``, ``sub``, ``div`` and
``add`` with ``broadcast: true`` follow torch's broadcasting, from one function
(:func:`cnnscope.layers._dims.broadcast_shapes`).

Op rule (docs/conventions.md, category ``merge``): an elementwise merge of ``m`` inputs counts
``m − 1`` ops per output element; concat and stack copy (0).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import broadcast_shapes, check_count, norm_dim
from cnnscope.layers._dims import shapes_text as _shapes
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Int, fld


@register
@layer_dataclass
class Add(Layer):
    type_name: ClassVar[str] = "add"
    torch_name: ClassVar[str] = "Add"
    family: ClassVar[str] = "merge"
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "elementwise sum of two or more inputs (residual): same shapes, or broadcast: true"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    broadcast: bool = fld(
        Bool(), False, "true: torch broadcasting (a bias, a position embedding); false: same shapes only"
    )

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
        if self.broadcast:
            broadcast_shapes(ins, "adds")
        elif any(s != ins[0] for s in ins[1:]):
            raise ShapeError(
                "shape-mismatch",
                f"adds inputs of different shapes: {_shapes(ins)}",
                hint="a residual branch needs a projection (1×1 conv, stride) to match the main path "
                "(or set `broadcast: true` to broadcast as torch does)",
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return broadcast_shapes(ins, "adds") if self.broadcast else ins[0]

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"merge": prod(out) * (len(ins) - 1)}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.Add()

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        if self.broadcast and any(s != out for s in ins):
            return [Step("output shape", f"{_shapes(ins)} broadcast and summed", _fmt(out))]
        return [Step("output shape", f"{len(ins)} inputs of {_fmt(out)} summed", _fmt(out))]


@layer_dataclass
class _Broadcasting(Layer):
    """Elementwise ops between inputs with torch broadcasting (mul, sub, div)."""

    family: ClassVar[str] = "merge"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2
    verb: ClassVar[str] = "combines"
    symbol: ClassVar[str] = "∘"

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
        broadcast_shapes(ins, self.verb)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return broadcast_shapes(ins, self.verb)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"merge": prod(out) * (len(ins) - 1)}

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return getattr(_torch_ops, self.torch_name)()

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f" {self.symbol} ".join(_fmt(s) for s in ins) + " (broadcast)", _fmt(out)),
            Step("ops", f"{len(ins) - 1} per output element", f"{prod(out) * (len(ins) - 1):,}"),
        ]


@register
@layer_dataclass
class Mul(_Broadcasting):
    type_name: ClassVar[str] = "mul"
    torch_name: ClassVar[str] = "Mul"
    summary: ClassVar[str] = "elementwise product with broadcasting (squeeze-excitation gates)"
    max_inputs: ClassVar[int | None] = None
    verb: ClassVar[str] = "multiplies"
    symbol: ClassVar[str] = "·"


@register
@layer_dataclass
class Sub(_Broadcasting):
    type_name: ClassVar[str] = "sub"
    torch_name: ClassVar[str] = "Sub"
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "first input minus the second, with broadcasting (torch.sub)"
    verb: ClassVar[str] = "subtracts"
    symbol: ClassVar[str] = "−"


@register
@layer_dataclass
class Div(_Broadcasting):
    type_name: ClassVar[str] = "div"
    torch_name: ClassVar[str] = "Div"
    summary: ClassVar[str] = "first input divided by the second, with broadcasting (torch.div, true division)"
    verb: ClassVar[str] = "divides"
    symbol: ClassVar[str] = "/"


@register
@layer_dataclass
class Concat(Layer):
    type_name: ClassVar[str] = "concat"
    torch_name: ClassVar[str] = "Concat"
    torch_home: ClassVar[str] = "_torch_ops"
    family: ClassVar[str] = "merge"
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "join inputs along a dim (default: channels), as torch.cat"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None

    dim: int = fld(Int(), 1, "the dim to join along (1: channels)")

    def _dim(self, rank: int) -> int:
        return self.dim + rank if self.dim < 0 else self.dim

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
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

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        # joined along a spatial dim, output positions no longer map to input positions by one stride
        return RFMap.UNSUPPORTED if self._dim(len(ins[0])) >= 2 else RFMap.POINTWISE

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d = self._dim(len(ins[0]))
        return [Step("output shape", f"dim {d}: " + " + ".join(str(s[d]) for s in ins), _fmt(out))]


@register
@layer_dataclass
class Stack(Layer):
    type_name: ClassVar[str] = "stack"
    torch_name: ClassVar[str] = "Stack"
    torch_home: ClassVar[str] = "_torch_ops"
    family: ClassVar[str] = "merge"
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "joins same-shaped inputs along a new dim, as torch.stack"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None

    dim: int = fld(Int(), 1, "where the new dim goes, in the output (negative: from the end)")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
        if any(s != ins[0] for s in ins[1:]):
            raise ShapeError("shape-mismatch", f"stacks inputs of different shapes: {_shapes(ins)}")
        norm_dim(self.dim, len(ins[0]) + 1)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        d = norm_dim(self.dim, len(ins[0]) + 1)
        return (*ins[0][:d], len(ins), *ins[0][d:])

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        # a new dim anywhere moves the spatial dims (or adds one at the end): positions in the
        # output's dims 2.. are no longer the input's. Pointwise only without spatial dims at all
        return RFMap.POINTWISE if len(ins[0]) + 1 <= 2 else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d = norm_dim(self.dim, len(ins[0]) + 1)
        return [Step("output shape", f"{len(ins)} inputs of {_fmt(ins[0])} along a new dim {d}", _fmt(out))]
