"""Shape helpers shared by the layer families: dim normalization, input counts, broadcasting;
and the base of the layers that only move values.

Not a family module (the package imports only modules without a leading underscore), and
torch-free like the rest of the analytic path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, Shape, layer_dataclass


def shapes_text(ins: Sequence[Sequence[int]]) -> str:
    return ", ".join(str(list(s)) for s in ins)


def norm_dim(dim: int, rank: int, what: str = "dim") -> int:
    """``dim`` counted from 0 (negative: from the end) for a ``rank``-d tensor, or a ShapeError."""
    d = dim + rank if dim < 0 else dim
    if not 0 <= d < rank:
        raise ShapeError("bad-dim", f"{what} {dim} is out of range for a {rank}-d input (expected {-rank}..{rank - 1})")
    return d


def check_count(layer: Any, ins: Sequence[Shape]) -> None:
    """Refuse a number of inputs outside ``min_inputs..max_inputs`` (the spec loader says so
    for specs; this covers layers used directly, as the fuzzer does)."""
    lo, hi = layer.min_inputs, layer.max_inputs
    if len(ins) < lo or (hi is not None and len(ins) > hi):
        want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
        raise ShapeError("wrong-arity", f"takes {want} input{'s' if want != '1' else ''}, got {len(ins)}")


def broadcast_shapes(ins: Sequence[Sequence[int]], verb: str = "combines") -> Shape:
    """torch's (numpy's) broadcasting: align on the right, each dim equal or 1."""
    rank = max(len(s) for s in ins)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in ins]
    out = []
    for dims in zip(*padded, strict=True):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ShapeError(
                "shape-mismatch",
                f"{verb} inputs that do not broadcast: {shapes_text(ins)}",
                hint="aligned from the last dim, each dim must be equal or 1",
            )
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


@layer_dataclass
class Rearranges(Layer):
    """The base of the layers that move, copy or pad values and compute none (flatten, view,
    permute, pixel shuffle...): the reshape family, an affine map without weights."""

    family: ClassVar[str] = "reshape"
    rearranges: ClassVar[bool] = True
    linear_map: ClassVar[bool] = True
