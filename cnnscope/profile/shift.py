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

The comparison of one layer's two outputs is :mod:`cnnscope.profile.shift_compare`, what comes
back :mod:`cnnscope.profile.shift_results` (its names are importable from here too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import lcm

import torch

from cnnscope.analyze.rf import dim_names, receptive_fields
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.analyze.shift import ShiftInfo, shift_infos, spatial_ndim
from cnnscope.errors import UsageError
from cnnscope.graph import INPUT, Graph
from cnnscope.profile.build import build_module
from cnnscope.profile.shift_compare import LayerPair, classifier_consistency, compare
from cnnscope.profile.shift_geometry import (
    DEFAULT_TOL,
    FILLS,
    REGIONS,
    check_shifts,
    default_shifts,
    resolve_dims,
    shift_input,
    shift_limit,
)
from cnnscope.profile.shift_results import LayerShift, ShiftMeasurement, Stat, stat_of, table_fields

# -- options --------------------------------------------------------------------------------


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
                        pair = LayerPair(
                            base[node.name], out[node.name], infos[node.name], fields[node.name], in_spatial, dims, s
                        )
                        errs, count = compare(pair, fill, norms[node.name])
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
                    a, t, c = classifier_consistency(gm, x, dims, fill, top, gen)
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
                    curve[s] = None if key in none_at or key not in raw else stat_of(raw[key])
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
                    "consistency": stat_of(agree[fill]).to_json(),
                    "mean_tv_distance": stat_of(tv[fill]).to_json(),
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


__all__ = ["LayerShift", "ShiftMeasurement", "Stat", "measure_shifts", "table_fields"]
