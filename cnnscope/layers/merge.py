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
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, define, layer_dataclass, register
from cnnscope.layers.fields import Bool, Int, fld


@layer_dataclass
class _Elementwise(Layer):
    """An elementwise merge of ``m`` inputs: ``m − 1`` ops per output element."""

    family: ClassVar[str] = "merge"
    torch_home: ClassVar[str] = "_torch_ops"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"merge": prod(out) * (len(ins) - 1)}


@register
@layer_dataclass
class Add(_Elementwise):
    torch_name: ClassVar[str] = "Add"
    linear_map: ClassVar[bool] = True
    summary: ClassVar[str] = "elementwise sum of two or more inputs (residual): same shapes, or broadcast: true"

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

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        return {}  # broadcasting is what torch's `+` does anyway

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        if self.broadcast and any(s != out for s in ins):
            return [Step("output shape", f"{_shapes(ins)} broadcast and summed", _fmt(out))]
        return [Step("output shape", f"{len(ins)} inputs of {_fmt(out)} summed", _fmt(out))]


@layer_dataclass
class _Broadcasting(_Elementwise):
    """Elementwise ops between inputs with torch broadcasting (mul, sub, div)."""

    max_inputs: ClassVar[int | None] = 2
    verb: ClassVar[str] = "combines"
    symbol: ClassVar[str] = "∘"

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
        broadcast_shapes(ins, self.verb)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return broadcast_shapes(ins, self.verb)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f" {self.symbol} ".join(_fmt(s) for s in ins) + " (broadcast)", _fmt(out)),
            Step("ops", f"{len(ins) - 1} per output element", f"{prod(out) * (len(ins) - 1):,}"),
        ]


define(
    _Broadcasting,
    "Mul",
    summary="elementwise product with broadcasting (squeeze-excitation gates)",
    max_inputs=None,
    verb="multiplies",
    symbol="·",
)
define(
    _Broadcasting,
    "Sub",
    summary="first input minus the second, with broadcasting (torch.sub)",
    linear_map=True,
    verb="subtracts",
    symbol="−",
)
define(
    _Broadcasting,
    "Div",
    summary="first input divided by the second, with broadcasting (torch.div, true division)",
    verb="divides",
    symbol="/",
)


@layer_dataclass
class _Join(Layer):
    """Joins its inputs along a dim (concat) or a new one (stack): values copied, none computed."""

    family: ClassVar[str] = "merge"
    torch_home: ClassVar[str] = "_torch_ops"
    linear_map: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None


@register
@layer_dataclass
class Concat(_Join):
    torch_name: ClassVar[str] = "Concat"
    summary: ClassVar[str] = "join inputs along a dim (default: channels), as torch.cat"

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
class Stack(_Join):
    torch_name: ClassVar[str] = "Stack"
    summary: ClassVar[str] = "joins same-shaped inputs along a new dim, as torch.stack"

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
