"""Where a shift lands: the dims shifted, the shifts to try, the shifted input, and each
layer's interior (output positions no padding or fill reaches). Imports torch."""

from __future__ import annotations

from collections.abc import Sequence
from math import floor

import torch

from cnnscope.analyze.rf import RFInfo, dim_names
from cnnscope.analyze.shift import EQUIVARIANT, ShiftInfo, spatial_ndim
from cnnscope.errors import UsageError, did_you_mean
from cnnscope.graph import Graph

FILLS = ("circular", "zeros")
REGIONS = ("interior", "whole")
DEFAULT_TOL = 1e-4
FULL_RANGE_UP_TO = 8  # default shifts: every s up to the largest lattice when it is at most this


def resolve_dims(graph: Graph, along: str | None) -> tuple[int, ...]:
    nd = spatial_ndim(graph)
    if along is None or along.lower() == "all":
        return tuple(range(nd))
    names = dim_names(nd)
    wanted = [a.strip().upper() for a in along.split(",") if a.strip()]
    bad = [a for a in wanted if a not in names]
    if bad or not wanted:
        raise UsageError(
            "bad-option",
            f"--along must be `all` or spatial dims of this {nd}-d input ({', '.join(names)}), got `{along}`"
            + (did_you_mean(bad[0], names) if bad else ""),
        )
    return tuple(sorted({names.index(a) for a in wanted}))


def shift_limit(graph: Graph, dims: Sequence[int]) -> int:
    """The largest shift measured: one less than the smallest shifted input size."""
    spatial = graph.input_shape[1:]
    return min(spatial[d] for d in dims) - 1


def default_shifts(lattices: Sequence[int], limit: int) -> list[int]:
    """Every shift up to the largest lattice when that is small (at most 8); else 1, the powers of
    two and every layer's lattice, up to the largest."""
    top = max([1, *lattices])
    if top <= FULL_RANGE_UP_TO:
        want = set(range(1, top + 1))
    else:
        want = {1, *lattices, top}
        p = 1
        while p <= top:
            want.add(p)
            p *= 2
    return sorted(s for s in want if 1 <= s <= limit)


def check_shifts(shifts: Sequence[int], limit: int, graph: Graph, dims: Sequence[int]) -> list[int]:
    spatial = graph.input_shape[1:]
    names = dim_names(len(spatial))
    for s in shifts:
        if s < 1:
            raise UsageError("bad-option", f"--shifts must be positive integers, got {s}")
        if s > limit:
            where = ", ".join(f"{spatial[d]} along {names[d]}" for d in dims)
            raise UsageError(
                "shift-too-large",
                f"shift {s} is beyond the input ({where}): at most {limit}",
                hint=f"use shifts from 1 to {limit}, or a larger --input",
            )
    return sorted(set(shifts))


# -- shifting and comparing -----------------------------------------------------------------


def shift_input(x: torch.Tensor, amounts: Sequence[int], dims: Sequence[int], fill: str) -> torch.Tensor:
    """``x`` moved forward by ``amounts[k]`` along spatial dim ``dims[k]`` (circularly, or zero-filled)."""
    out = torch.roll(x, shifts=list(amounts), dims=[2 + d for d in dims])
    if fill == "zeros":
        for a, d in zip(amounts, dims, strict=True):
            if a:
                out.narrow(2 + d, 0, a).zero_()
    return out


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def interior(rf: RFInfo, n: int, m: int, d: int, s: int, sp: int) -> tuple[int, int] | None:
    """Output positions ``u`` (inclusive range) of the shifted pass to compare along dim ``d``, with
    ``u − sp`` in the plain pass: both receptive fields inside the input, the shifted one clear
    of the ``s`` moved-in pixels."""
    r, j, p = rf.size[d], rf.stride[d], rf.padding[d]
    lo = max(ceil_div(s + p, j), sp + ceil_div(p, j), sp, 0)
    hi = min((n - r + p) // j, sp + (n - r + p) // j, m - 1, m - 1 + sp)
    return (lo, hi) if lo <= hi else None


def candidates(info: ShiftInfo, s: int, d: int, n: int, m: int) -> list[int]:
    """Output shifts to compare against along dim ``d``: s / j, or its two nearest integers."""
    if info.status == EQUIVARIANT and info.stride:
        j = info.stride[d]
        return [s // j] if s % j == 0 else [s // j, s // j + 1]
    q = s * m / n  # upsampling and the like: the shapes' own ratio
    return [int(q)] if q.is_integer() else [floor(q), floor(q) + 1]
