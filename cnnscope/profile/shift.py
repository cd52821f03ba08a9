"""Translation equivariance, measured at random initialization (imports torch).

For every layer and every shift s of the input (the same s along each shifted dim), the
relative equivariance error

    ‖f(Tₛx) − Tₛ′f(x)‖ / ‖Tₛ′f(x)‖        per input, over a stated region,

where s′ = s / j for a layer of effective stride j when that is an integer, and otherwise the
better of the two nearest integer shifts (⌊s / j⌋, ⌈s / j⌉): the error is then the aliasing.
Layers with no positions left (after global pooling or a dense layer) are compared with
f(x) itself: an invariance error. Shifts come in two kinds:

- ``circular`` — ``torch.roll``: the input lives on a torus. Compared on the ``whole`` map
  (also rolled), the error is zero at lattice shifts exactly when no layer leaks position
  (circular padding, sizes divisible by the strides).
- ``zeros`` — the input moves and zeros fill in behind it; compared on every output position
  that has a counterpart (the ``whole`` map less the s′ rows that moved in).

Both are also compared on the ``interior``: output positions whose receptive field, in both
passes, lies inside the input and clear of the shifted-in border. No padding and no fill
reaches them, so there the two kinds agree and the error is aliasing alone. A layer whose
receptive field is too large for the input has no interior (reported as missing).

Weights are PyTorch's default initialization, inputs are i.i.d. normal (white noise: the
worst case for aliasing; natural images carry less high frequency), the module runs in eval
mode. Each figure is the mean over ``seeds`` × ``inputs`` samples, with its standard
deviation. At a classifier's output, Zhang's consistency: the fraction of inputs whose
argmax agrees under two random shifts (each in [0, lattice) per dim), and the mean total
variation distance between the two softmax distributions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import floor, lcm
from typing import Any

import torch

from cnnscope.analyze.rf import RFInfo, dim_names, receptive_fields
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.analyze.shift import EQUIVARIANT, ShiftInfo, shift_infos, spatial_ndim
from cnnscope.errors import UsageError, did_you_mean
from cnnscope.graph import INPUT, Graph
from cnnscope.profile.build import build_module

FILLS = ("circular", "zeros")
REGIONS = ("interior", "whole")
DEFAULT_TOL = 1e-4
FULL_RANGE_UP_TO = 8  # default shifts: every s up to the largest lattice when it is at most this


@dataclass(frozen=True)
class Stat:
    mean: float
    std: float
    n: int

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "n": self.n}


def _stat(values: Sequence[float]) -> Stat:
    t = torch.tensor(values, dtype=torch.float64)
    std = float(t.std(unbiased=False)) if len(values) > 1 else 0.0
    return Stat(float(t.mean()), std, len(values))


@dataclass
class LayerShift:
    """The measured errors of one layer: ``errors[fill][region][shift]`` (None: no such region)."""

    name: str
    lattice: int | None  # the analytic lattice along the shifted dims (lcm), None when there is none
    errors: dict[str, dict[str, dict[int, Stat | None]]]
    positions: dict[int, int | None]  # interior positions compared per shift (circular pass), None: no interior

    def curve(self, fill: str, region: str) -> dict[int, Stat | None]:
        return self.errors.get(fill, {}).get(region, {})

    def vanishes_at(self, fill: str, region: str, tol: float) -> int | None:
        """The smallest measured shift whose error is at most ``tol`` (None: none is)."""
        for s, st in sorted(self.curve(fill, region).items()):
            if st is not None and st.mean <= tol:
                return s
        return None

    def headline(self) -> tuple[str, str]:
        """(fill, region) the table shows: the interior where it exists at every shift, else the torus."""
        cur = self.curve("circular", "interior") or self.curve("zeros", "interior")
        if cur and all(v is not None for v in cur.values()):
            return ("circular" if self.curve("circular", "interior") else "zeros"), "interior"
        return ("circular" if self.curve("circular", "whole") else "zeros"), "whole"

    def to_json(self, tol: float) -> dict[str, Any]:
        fill, region = self.headline()
        return {
            "lattice": self.lattice,
            "region": region,
            "fill": fill,
            "measured_lattice": self.vanishes_at(fill, region, tol),
            "errors": {
                f: {r: {str(s): (v.to_json() if v else None) for s, v in c.items()} for r, c in rs.items()}
                for f, rs in self.errors.items()
            },
            "interior_positions": {str(s): n for s, n in self.positions.items()},
        }


@dataclass
class ShiftMeasurement:
    shifts: list[int]
    dims: tuple[int, ...]  # spatial dims shifted, 0-based
    dim_labels: list[str]
    inputs: int
    seeds: int
    fills: tuple[str, ...]
    tol: float
    device: str
    layers: dict[str, LayerShift]
    consistency: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "shifts": self.shifts,
            "along": self.dim_labels,
            "inputs_per_seed": self.inputs,
            "seeds": self.seeds,
            "fills": list(self.fills),
            "tolerance": self.tol,
            "device": self.device,
            "input_distribution": "i.i.d. standard normal",
            "initialization": "PyTorch default, eval mode",
            "consistency": self.consistency,
            "notes": self.notes,
        }


# -- options --------------------------------------------------------------------------------


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


def _rel(a: torch.Tensor, ref: torch.Tensor, ref_norm: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample ‖a − ref‖ / ‖ref‖ (float32 sums are ample: the figures go down to about 1e-7)."""
    dims = tuple(range(1, a.dim()))
    diff = torch.linalg.vector_norm(a - ref, dim=dims)
    den = torch.linalg.vector_norm(ref, dim=dims) if ref_norm is None else ref_norm
    out: torch.Tensor = (diff / den.clamp_min(1e-30)).double()
    return out


def _roll_diff_norm(shifted: torch.Tensor, base: torch.Tensor, sp: Sequence[int], dims: Sequence[int]) -> torch.Tensor:
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


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def interior(rf: RFInfo, n: int, m: int, d: int, s: int, sp: int) -> tuple[int, int] | None:
    """Output positions ``u`` (inclusive range) of the shifted pass to compare along dim ``d``, with
    ``u − sp`` in the plain pass: both receptive fields inside the input, the shifted one clear
    of the ``s`` moved-in pixels."""
    r, j, p = rf.size[d], rf.stride[d], rf.padding[d]
    lo = max(_ceil_div(s + p, j), sp + _ceil_div(p, j), sp, 0)
    hi = min((n - r + p) // j, sp + (n - r + p) // j, m - 1, m - 1 + sp)
    return (lo, hi) if lo <= hi else None


def _candidates(info: ShiftInfo, s: int, d: int, n: int, m: int) -> list[int]:
    """Output shifts to compare against along dim ``d``: s / j, or its two nearest integers."""
    if info.status == EQUIVARIANT and info.stride:
        j = info.stride[d]
        return [s // j] if s % j == 0 else [s // j, s // j + 1]
    q = s * m / n  # upsampling and the like: the shapes' own ratio
    return [int(q)] if q.is_integer() else [floor(q), floor(q) + 1]


def _compare(
    base: torch.Tensor,
    shifted: torch.Tensor,
    info: ShiftInfo,
    rf: RFInfo,
    in_spatial: Sequence[int],
    dims: Sequence[int],
    s: int,
    fill: str,
    base_norm: torch.Tensor | None = None,
) -> tuple[dict[str, torch.Tensor | None], int | None]:
    """Per-sample errors by region for one layer and one shift, and the interior's size
    (``base_norm``: the per-sample ‖f(x)‖, when the caller keeps it across shifts)."""
    nd = len(in_spatial)
    spatial = base.dim() == nd + 2 and info.status not in ("invariant", "positional")
    if not spatial:
        return {"whole": _rel(shifted, base), "interior": None}, None
    sizes = [base.shape[2 + d] for d in range(nd)]
    if base_norm is None:
        base_norm = torch.linalg.vector_norm(base, dim=tuple(range(1, base.dim())))
    options = [_candidates(info, s, d, in_spatial[d], sizes[d]) for d in dims]
    combos = [[o[0] for o in options]]
    if any(len(o) > 1 for o in options):
        combos.append([o[-1] for o in options])
    best: dict[str, torch.Tensor | None] = {"whole": None, "interior": None}
    positions: int | None = None
    for sp in combos:
        errs: dict[str, torch.Tensor | None] = {}
        if fill == "circular":  # a roll keeps the norm: ‖Tₛ′f(x)‖ = ‖f(x)‖
            errs["whole"] = (_roll_diff_norm(shifted, base, sp, dims) / base_norm.clamp_min(1e-30)).double()
        else:
            a, b = shifted, base
            for k, d in zip(sp, dims, strict=True):
                if k >= sizes[d]:
                    a = b = None  # type: ignore[assignment]
                    break
                a = a.narrow(2 + d, k, sizes[d] - k)
                b = b.narrow(2 + d, 0, sizes[d] - k)
            errs["whole"] = None if a is None else _rel(a, b)
        errs["interior"], count = _interior_error(base, shifted, info, rf, in_spatial, dims, s, sp, sizes)
        for key, v in errs.items():
            cur = best[key]
            if v is not None and (cur is None or float(v.mean()) < float(cur.mean())):
                best[key] = v
                if key == "interior":
                    positions = count
    return best, positions


def _interior_error(
    base: torch.Tensor,
    shifted: torch.Tensor,
    info: ShiftInfo,
    rf: RFInfo,
    in_spatial: Sequence[int],
    dims: Sequence[int],
    s: int,
    sp: Sequence[int],
    sizes: Sequence[int],
) -> tuple[torch.Tensor | None, int | None]:
    if info.status != EQUIVARIANT or not rf.ok or rf.ndim != len(in_spatial):
        return None, None
    a, b = shifted, base
    count = 1
    for d in range(len(in_spatial)):
        if d in dims:
            k = sp[list(dims).index(d)]
            rng = interior(rf, in_spatial[d], sizes[d], d, s, k)
            if rng is None:
                return None, None
            lo, hi = rng
            a = a.narrow(2 + d, lo, hi - lo + 1)
            b = b.narrow(2 + d, lo - k, hi - lo + 1)
            count *= hi - lo + 1
        else:
            count *= sizes[d]
    return _rel(a, b), count


# -- the measurement ------------------------------------------------------------------------


def measure_shifts(
    graph: Graph,
    shifts: Sequence[int] | None = None,
    *,
    along: str | None = None,
    inputs: int = 4,
    seeds: int = 2,
    seed: int = 0,
    fills: Sequence[str] = FILLS,
    device: str = "cpu",
    tol: float = DEFAULT_TOL,
) -> ShiftMeasurement:
    """Measure every layer's equivariance error (see the module docstring)."""
    from cnnscope.profile.runner import resolve_device

    nd = spatial_ndim(graph)
    if inputs < 1 or seeds < 1:
        raise UsageError("bad-option", f"--inputs and --seeds must be positive integers, got {inputs} and {seeds}")
    if not tol > 0:
        raise UsageError("bad-option", f"--tol must be positive, got {tol}")
    for f in fills:
        if f not in FILLS:
            raise UsageError("bad-option", f"--fill must be one of {', '.join(FILLS)}, got `{f}`")
    opaque = [n.name for n in graph.nodes if n.layer.opaque]
    if opaque:
        raise UsageError(
            "shift-unsupported",
            f"{len(opaque)} layer(s) have no cnnscope layer type (e.g. `{opaque[0]}`): the empirical mode "
            "cannot rebuild this network, only the analytic mode applies",
            hint="run `cnnscope shift` without --empirical",
        )
    dev = resolve_device(device)
    dims = resolve_dims(graph, along)
    limit = shift_limit(graph, dims)
    names = dim_names(nd)
    if limit < 1:
        raise UsageError(
            "shift-too-large",
            f"the input is 1 pixel along {', '.join(names[d] for d in dims)}: there is no shift to measure",
        )
    shapes = infer_shapes(graph, inputs)
    infos = shift_infos(graph, shapes)
    fields = receptive_fields(graph, shapes)
    lattices = {n.name: _along(infos[n.name], dims) for n in graph.nodes}
    notes: list[str] = []
    if shifts is None:
        known = [v for v in lattices.values() if v is not None]
        shifts = default_shifts(known, limit)
        if known and max(known) > limit:
            notes.append(f"lattices above {limit} (the input size less 1) are not measured")
    else:
        shifts = check_shifts(shifts, limit, graph, dims)
    in_spatial = graph.input_shape[1:]
    # consistency draws shifts below the output's lattice (else the largest one: a flatten head has none)
    top = max(1, min(lattices.get(graph.output) or max([1, *(v for v in lattices.values() if v)]), limit + 1))
    raw: dict[tuple[str, str, str, int], list[float]] = {}
    none_at: set[tuple[str, str, str, int]] = set()
    positions: dict[tuple[str, int], int | None] = {}
    gen = torch.Generator().manual_seed(seed)
    head = _classifier_output(graph, shapes)
    agree: dict[str, list[float]] = {f: [] for f in fills}
    tv: dict[str, list[float]] = {f: [] for f in fills}
    classes: dict[str, int] = {}
    for k in range(seeds):
        torch.manual_seed(seed * 1000 + k)
        gm = build_module(graph, inputs).to(dev)
        x = torch.randn((inputs, *graph.input_shape), generator=gen).to(dev)
        with torch.inference_mode():
            base = gm(x, return_all=True)
            norms = {name: torch.linalg.vector_norm(t, dim=tuple(range(1, t.dim()))) for name, t in base.items()}
            for fill in fills:
                for s in shifts:
                    out = gm(shift_input(x, [s] * len(dims), dims, fill), return_all=True)
                    for node in graph.nodes:
                        errs, count = _compare(
                            base[node.name],
                            out[node.name],
                            infos[node.name],
                            fields[node.name],
                            in_spatial,
                            dims,
                            s,
                            fill,
                            norms[node.name],
                        )
                        if fill == "circular" or (node.name, s) not in positions:
                            positions[(node.name, s)] = count
                        for region, v in errs.items():
                            key = (node.name, fill, region, s)
                            if v is None:
                                none_at.add(key)
                            else:
                                raw.setdefault(key, []).extend(float(e) for e in v)
                    del out
            if head is not None:
                for fill in fills:
                    a, t, c = _consistency(gm, x, dims, fill, top, gen)
                    agree[fill].append(a)
                    tv[fill].append(t)
                    classes[fill] = max(classes.get(fill, 0), c)
    layers: dict[str, LayerShift] = {}
    for node in graph.nodes:
        errors: dict[str, dict[str, dict[int, Stat | None]]] = {}
        for fill in fills:
            for region in REGIONS:
                curve: dict[int, Stat | None] = {}
                for s in shifts:
                    key = (node.name, fill, region, s)
                    curve[s] = None if key in none_at or key not in raw else _stat(raw[key])
                if any(v is not None for v in curve.values()):
                    errors.setdefault(fill, {})[region] = curve
        layers[node.name] = LayerShift(
            node.name, lattices[node.name], errors, {s: positions.get((node.name, s)) for s in shifts}
        )
    consistency = None
    if head is not None:
        consistency = {
            "layer": graph.output,
            "shift_range": [0, top - 1],
            **{
                fill: {
                    "consistency": _stat(agree[fill]).to_json(),
                    "mean_tv_distance": _stat(tv[fill]).to_json(),
                    "distinct_argmax": classes.get(fill, 0),
                }
                for fill in fills
            },
        }
    return ShiftMeasurement(
        list(shifts),
        dims,
        [names[d] for d in dims],
        inputs,
        seeds,
        tuple(fills),
        tol,
        str(dev),
        layers,
        consistency,
        notes,
    )


def _along(info: ShiftInfo, dims: Sequence[int]) -> int | None:
    """The smallest shift, the same along each of ``dims``, in the node's lattice."""
    if not info.lattice:
        return None
    return lcm(*[info.lattice[d] for d in dims])


def _classifier_output(graph: Graph, shapes: Mapping[str, tuple[int, ...]]) -> str | None:
    out = shapes[graph.output]
    return graph.output if len(out) == 2 and out[1] >= 2 and graph.output != INPUT else None


def _consistency(
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


def table_fields(layer: LayerShift, tol: float) -> dict[str, Any]:
    """The numbers a table row shows: the error off the lattice (at the smallest measured shift
    that is not a multiple of it) and at the lattice shift, in the headline region; the torus and
    the zero-filled whole map at the lattice shift; the measured lattice."""
    fill, region = layer.headline()
    curve = layer.curve(fill, region)
    lat = layer.lattice
    off_s = next((s for s in sorted(curve) if lat is None or s % lat), None)
    off = curve.get(off_s) if off_s is not None else None
    on = curve.get(lat) if lat is not None else None
    torus = layer.curve("circular", "whole").get(lat) if lat is not None else None
    zeros = layer.curve("zeros", "whole").get(lat) if lat is not None else None
    return {
        "region": "interior" if region == "interior" else "whole map",
        "off_shift": off_s,
        "off": off.mean if off else None,
        "off_std": off.std if off else None,
        "on": on.mean if on else None,
        "on_std": on.std if on else None,
        "torus": torus.mean if torus else None,
        "zeros": zeros.mean if zeros else None,
        "measured_lattice": layer.vanishes_at(fill, region, tol),
    }
