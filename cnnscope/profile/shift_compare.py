"""The equivariance and consistency errors of one layer's outputs under a shift (imports torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cnnscope.analyze.rf import RFInfo
from cnnscope.analyze.shift import EQUIVARIANT, ShiftInfo
from cnnscope.profile.shift_geometry import candidates, interior, shift_input


def relative(a: torch.Tensor, ref: torch.Tensor, ref_norm: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample ‖a − ref‖ / ‖ref‖ (float32 sums are ample: the figures go down to about 1e-7)."""
    dims = tuple(range(1, a.dim()))
    diff = torch.linalg.vector_norm(a - ref, dim=dims)
    den = torch.linalg.vector_norm(ref, dim=dims) if ref_norm is None else ref_norm
    out: torch.Tensor = (diff / den.clamp_min(1e-30)).double()
    return out


def roll_diff_norm(shifted: torch.Tensor, base: torch.Tensor, sp: Sequence[int], dims: Sequence[int]) -> torch.Tensor:
    """Per-sample ‖shifted − roll(base, sp)‖ without building the roll: a roll by k along a dim of
    size M pairs shifted[k:] with base[:M−k] and shifted[:k] with base[M−k:], so the squared norm
    is a sum over those blocks (2 per shifted dim)."""
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = [(shifted, base)]
    for k, d in zip(sp, dims, strict=True):
        m = base.shape[2 + d]
        k %= m
        if k == 0:
            continue
        pairs = [
            piece
            for a, b in pairs
            for piece in (
                (a.narrow(2 + d, k, m - k), b.narrow(2 + d, 0, m - k)),
                (a.narrow(2 + d, 0, k), b.narrow(2 + d, m - k, k)),
            )
        ]
    red = tuple(range(1, base.dim()))
    total = sum(torch.linalg.vector_norm(a - b, dim=red).square() for a, b in pairs)
    assert isinstance(total, torch.Tensor)
    return total.sqrt()


@dataclass(frozen=True)
class LayerPair:
    """One layer's output for the input (``base``) and for the input shifted by ``s`` along
    ``dims`` (``shifted``), with what the analysis says of the layer (its shift facts, its
    receptive field) and the input's spatial size."""

    base: torch.Tensor
    shifted: torch.Tensor
    info: ShiftInfo
    rf: RFInfo
    in_spatial: Sequence[int]
    dims: Sequence[int]
    s: int


def compare(
    pair: LayerPair, fill: str, base_norm: torch.Tensor | None = None
) -> tuple[dict[str, torch.Tensor | None], int | None]:
    """Per-sample errors by region for one layer and one shift, and the interior's size
    (``base_norm``: the per-sample ‖f(x)‖, when the caller keeps it across shifts)."""
    base, shifted, info, dims = pair.base, pair.shifted, pair.info, pair.dims
    nd = len(pair.in_spatial)
    spatial = base.dim() == nd + 2 and info.status not in ("invariant", "positional")
    if not spatial:
        return {"whole": relative(shifted, base), "interior": None}, None
    sizes = [base.shape[2 + d] for d in range(nd)]
    if base_norm is None:
        base_norm = torch.linalg.vector_norm(base, dim=tuple(range(1, base.dim())))
    options = [candidates(info, pair.s, d, pair.in_spatial[d], sizes[d]) for d in dims]
    combos = [[o[0] for o in options]]
    if any(len(o) > 1 for o in options):
        combos.append([o[-1] for o in options])
    best: dict[str, torch.Tensor | None] = {"whole": None, "interior": None}
    positions: int | None = None
    for sp in combos:
        errs: dict[str, torch.Tensor | None] = {}
        if fill == "circular":  # a roll keeps the norm: ‖Tₛ′f(x)‖ = ‖f(x)‖
            errs["whole"] = (roll_diff_norm(shifted, base, sp, dims) / base_norm.clamp_min(1e-30)).double()
        else:
            a, b = shifted, base
            for k, d in zip(sp, dims, strict=True):
                if k >= sizes[d]:
                    a = b = None  # type: ignore[assignment]
                    break
                a = a.narrow(2 + d, k, sizes[d] - k)
                b = b.narrow(2 + d, 0, sizes[d] - k)
            errs["whole"] = None if a is None else relative(a, b)
        errs["interior"], count = interior_error(pair, sp, sizes)
        for key, v in errs.items():
            cur = best[key]
            if v is not None and (cur is None or float(v.mean()) < float(cur.mean())):
                best[key] = v
                if key == "interior":
                    positions = count
    return best, positions


def interior_error(pair: LayerPair, sp: Sequence[int], sizes: Sequence[int]) -> tuple[torch.Tensor | None, int | None]:
    """The error on the interior (output positions no padding or fill reaches) for the output
    shift ``sp`` (one per shifted dim), and how many positions it covers."""
    info, rf, in_spatial, dims = pair.info, pair.rf, pair.in_spatial, pair.dims
    if info.status != EQUIVARIANT or not rf.ok or rf.ndim != len(in_spatial):
        return None, None
    a, b = pair.shifted, pair.base
    count = 1
    for d in range(len(in_spatial)):
        if d in dims:
            k = sp[list(dims).index(d)]
            rng = interior(rf, in_spatial[d], sizes[d], d, pair.s, k)
            if rng is None:
                return None, None
            lo, hi = rng
            a = a.narrow(2 + d, lo, hi - lo + 1)
            b = b.narrow(2 + d, lo - k, hi - lo + 1)
            count *= hi - lo + 1
        else:
            count *= sizes[d]
    return relative(a, b), count


# -- the measurement ------------------------------------------------------------------------


def classifier_consistency(
    gm: torch.nn.Module, x: torch.Tensor, dims: Sequence[int], fill: str, top: int, gen: torch.Generator
) -> tuple[float, float, int]:
    """Zhang's consistency for one draw of weights: two random shifts per input (and how many
    distinct classes the inputs' argmax takes: at random initialization often one for all)."""
    n = x.shape[0]
    probs = []
    for _ in range(2):
        amounts = torch.randint(0, top, (n, len(dims)), generator=gen)
        xs = torch.stack([shift_input(x[i : i + 1], [int(a) for a in amounts[i]], dims, fill)[0] for i in range(n)])
        probs.append(torch.softmax(gm(xs).double(), dim=1))
    pa, pb = probs
    agree = float((pa.argmax(1) == pb.argmax(1)).double().mean())
    tv = float(0.5 * (pa - pb).abs().sum(1).mean())
    return agree, tv, len(set(pa.argmax(1).tolist()))
