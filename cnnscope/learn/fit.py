"""Window fit: does every sliding window tile its input exactly?

A window "fits" along a dim when the last window ends on the input's last pixel (or in
the padding after it): ``(I + P_lo + P_hi − K) mod S`` pixels are left over, and those of
them that are real input (not padding) are never seen. The lecture's 7×7 input with a 3×3
filter fits at stride 1 and 2 (remainders 0) but not at stride 3 (remainder 1: one column
lost). ``ceil_mode`` pooling keeps a last, partial window instead of dropping pixels; this
module reports that too. The rule itself is the layers' own
(:func:`cnnscope.layers.window.axis_fits` over :meth:`Layer.window`): the shape analyzer's
warning, lint's ``window-fit`` and this module read the same fact.

:func:`scan_dims` answers "which input sizes fit everywhere" by re-running shape inference
for each size, one spatial dim at a time: every windowed layer slides along each dim on its
own, so as long as no window runs after a global op (a flatten feeding a 1-d convolution
mixes the dims), an input fits exactly when each of its dims does, and the dims can be
scanned separately (a 61 + 61 scan instead of 61·61). When that does not hold, every
combination is tried. :func:`scan` is the square-input special case. Nothing here imports
torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from math import prod

from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import CnnscopeError, Location, UsageError
from cnnscope.graph import Graph, Node
from cnnscope.layers.base import RFKind, Shape
from cnnscope.layers.window import AxisFit, axis_fits, dim_name
from cnnscope.records import Record, record

MAX_SIZES = 4096  # sizes one scan may try


@dataclass(frozen=True)
class WindowFit(AxisFit):
    """One spatial dim of one windowed layer: the layer's :class:`~cnnscope.layers.window.AxisFit`
    (``lost``, ``partial``, ``remainder``, ``describe()``), with the layer it belongs to."""

    layer: str = ""
    loc: Location | None = None


def node_fits(node: Node, ins: Sequence[Shape], out: Shape) -> list[WindowFit]:
    """The window-fit facts of one node, one per spatial dim; empty for layers without a window."""
    if not ins:
        return []
    fits = axis_fits(node.layer.window(ins), ins[0][2:], out[2:])
    return [WindowFit(**vars(f), layer=node.name, loc=node.loc) for f in fits]


def window_fits(graph: Graph, shapes: Mapping[str, Shape]) -> list[WindowFit]:
    """Every windowed layer's fit facts, in graph order."""
    out: list[WindowFit] = []
    for node in graph.nodes:
        out.extend(node_fits(node, [shapes[i] for i in node.inputs], shapes[node.name]))
    return out


def misfits(graph: Graph, shapes: Mapping[str, Shape]) -> list[WindowFit]:
    """Only the dims that lose pixels or keep a partial window."""
    return [w for w in window_fits(graph, shapes) if not w.fits]


# -- scanning a range of input sizes ---------------------------------------------------


@record
class SizeResult(Record):
    size: int  # the size tried along the scanned dim (every dim, for a square scan)
    fits: bool
    output_shape: Shape | None  # None: the network cannot take this size
    problems: tuple[WindowFit, ...] = ()
    error: str | None = None  # why the size is impossible (too small, ...)
    params_change: bool = False  # a layer's parameter count depends on the size (flatten → linear)
    input: tuple[int, ...] = ()  # the whole spatial input tried
    final: int | None = None  # the scanned dim's size after the last windowed layer (224 → 7 in VGG)


def parse_range(text: str, option: str = "--range") -> tuple[int, int]:
    """``200:260`` (inclusive) → (200, 260)."""
    parts = text.split(":")
    try:
        lo, hi = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, -1)
    except ValueError:
        lo, hi = 0, -1
    if lo < 1 or hi < lo:
        raise UsageError(
            "bad-option",
            f"{option} must be LO:HI with 1 ≤ LO ≤ HI, got `{text}`",
            hint=f"e.g. {option} 200:260 (both ends included)",
        )
    if hi - lo + 1 > MAX_SIZES:
        raise UsageError("bad-option", f"{option} spans {hi - lo + 1} sizes; at most {MAX_SIZES} at a time")
    return lo, hi


def default_range(graph: Graph) -> tuple[int, int]:
    """The spec's own input size ± 32."""
    spatial = graph.input_shape[1:]
    if not spatial:
        raise UsageError(
            "no-spatial-dims",
            f"`{graph.name}` takes a {len(graph.input_shape)}-d input with no "
            "spatial dims; there are no windows to fit",
        )
    s = max(spatial)
    return max(1, s - 32), s + 32


def _params(graph: Graph, shapes: Mapping[str, Shape]) -> int:
    return sum(n.layer.params([shapes[i] for i in n.inputs]).total for n in graph.nodes if n.shares is None)


def scan(graph: Graph, sizes: Iterable[int], batch: int = 1) -> list[SizeResult]:
    """For each size, every spatial dim of the input set to it (square inputs)."""
    if len(graph.input_shape) < 2:
        raise UsageError(
            "no-spatial-dims", f"`{graph.name}` takes an input with no spatial dims; there are no windows to fit"
        )
    base_params = _params(graph, infer_shapes(graph, batch))
    channels = graph.input_shape[0]
    nd = len(graph.input_shape) - 1
    results = []
    for size in sizes:
        g = dataclasses.replace(graph, input_shape=(channels, *([size] * nd)))
        try:
            shapes = infer_shapes(g, batch)
        except CnnscopeError as exc:
            results.append(SizeResult(size, False, None, error=exc.message))
            continue
        bad = tuple(misfits(g, shapes))
        results.append(
            SizeResult(size, not bad, shapes[g.output], bad, params_change=_params(g, shapes) != base_params)
        )
    return results


# -- rectangular inputs: one dim at a time -------------------------------------------------


@record
class DimScan(Record):
    """The sizes tried along one spatial dim, the other dims held at the spec's size."""

    dim: str  # H, W, L, D, ...
    lo: int
    hi: int
    results: tuple[SizeResult, ...]

    @property
    def fits(self) -> list[int]:
        return [r.size for r in self.results if r.fits]


@record
class FitScan(Record):
    per_dim: bool  # True: each dim scanned alone; False: every combination tried
    note: str  # why the dims could (not) be scanned alone
    dims: tuple[DimScan, ...]  # per dim (in combined mode: a size fits when some combination with it fits)
    combos: tuple[SizeResult, ...] = ()  # combined mode only
    example: tuple[int, ...] | None = None  # a fitting input nearest the spec's size, checked by a full run

    @property
    def any_fit(self) -> bool:
        return self.example is not None


def coupled_dims(graph: Graph, shapes: Mapping[str, Shape]) -> str | None:
    """Why the spatial dims cannot be fitted one at a time, or None when they can.

    Every windowed layer works on each dim separately; what couples them is a window that
    slides over the output of a global op (a flatten, or a linear layer), whose length is a
    product of the dims.
    """
    after_global: dict[str, str] = {}
    for node in graph.nodes:
        ins = [shapes[i] for i in node.inputs]
        step = node.layer.rf(ins)
        src = next((after_global[i] for i in node.inputs if i in after_global), None)
        if src is not None and step.windowed and node_fits(node, ins, shapes[node.name]):
            return f"`{node.name}` slides a window over the output of `{src}`, which mixes the spatial dims"
        if src is not None:
            after_global[node.name] = src
        elif step.kind is RFKind.GLOBAL:
            after_global[node.name] = node.name
    return None


def _last_map(graph: Graph, shapes: Mapping[str, Shape], rank: int) -> Shape | None:
    """The output of the last windowed layer: the map the head works on (before adaptive pooling)."""
    maps = [
        shapes[n.name]
        for n in graph.nodes
        if len(shapes[n.name]) == rank and n.layer.rf([shapes[i] for i in n.inputs]).windowed
    ]
    return maps[-1] if maps else None


def _try(graph: Graph, spatial: Sequence[int], base_params: int, batch: int, dim: str | None) -> SizeResult:
    """One input size; with ``dim``, only that dim's window problems count."""
    g = dataclasses.replace(graph, input_shape=(graph.input_shape[0], *spatial))
    nd = len(spatial)
    d = dim_index(nd, dim) if dim is not None else 0
    try:
        shapes = infer_shapes(g, batch)
    except CnnscopeError as exc:
        return SizeResult(spatial[d], False, None, error=exc.message, input=tuple(spatial))
    bad = tuple(w for w in misfits(g, shapes) if dim is None or w.dim == dim)
    last = _last_map(g, shapes, nd + 2)
    return SizeResult(
        spatial[d],
        not bad,
        shapes[g.output],
        bad,
        params_change=_params(g, shapes) != base_params,
        input=tuple(spatial),
        final=last[2 + d] if last is not None else None,
    )


def dim_index(nd: int, dim: str) -> int:
    names = [dim_name(nd, i) for i in range(nd)]
    return names.index(dim)


def scan_dims(graph: Graph, ranges: Sequence[tuple[int, int]], batch: int = 1) -> FitScan:
    """Which input sizes fit, one ``(lo, hi)`` range per spatial dim (first spatial dim first)."""
    spatial = tuple(graph.input_shape[1:])
    nd = len(spatial)
    if nd == 0:
        raise UsageError(
            "no-spatial-dims", f"`{graph.name}` takes an input with no spatial dims; there are no windows to fit"
        )
    if len(ranges) != nd:
        raise UsageError("bad-option", f"`{graph.name}` has {nd} spatial dim(s); got {len(ranges)} range(s)")
    base_shapes = infer_shapes(graph, batch)
    base_params = _params(graph, base_shapes)
    names = [dim_name(nd, i) for i in range(nd)]
    why = coupled_dims(graph, base_shapes)
    if why is None:
        dims = []
        for i, (lo, hi) in enumerate(ranges):
            tries = [
                _try(graph, (*spatial[:i], n, *spatial[i + 1 :]), base_params, batch, names[i])
                for n in range(lo, hi + 1)
            ]
            dims.append(DimScan(names[i], lo, hi, tuple(tries)))
        example = _nearest(spatial, [d.fits for d in dims])
        if example is not None and not _try(graph, example, base_params, batch, None).fits:
            example = None  # cannot happen for per-dim layers; never claim an input that was not checked
        note = "every window slides along each dim on its own: each dim was scanned with the others at the spec's size"
        return FitScan(True, note, tuple(dims), (), example)
    total = prod(hi - lo + 1 for lo, hi in ranges)
    if total > MAX_SIZES:
        raise UsageError(
            "bad-option",
            f"the dims of `{graph.name}` must be tried together ({why}): {total:,} combinations, at most {MAX_SIZES}",
            hint="narrow the ranges (--height/--width)",
        )
    combos = tuple(_try(graph, c, base_params, batch, None) for c in product(*(range(lo, hi + 1) for lo, hi in ranges)))
    good = [r.input for r in combos if r.fits]
    dims_out = tuple(
        DimScan(
            names[i],
            lo,
            hi,
            tuple(SizeResult(n, any(g[i] == n for g in good), None, input=(n,)) for n in range(lo, hi + 1)),
        )
        for i, (lo, hi) in enumerate(ranges)
    )
    example = min(good, key=lambda c: (sum(abs(a - b) for a, b in zip(c, spatial, strict=True)), c)) if good else None
    return FitScan(False, f"the dims were tried together: {why}", dims_out, combos, example)


def _nearest(spatial: Sequence[int], fits: Sequence[Sequence[int]]) -> tuple[int, ...] | None:
    if any(not f for f in fits):
        return None
    return tuple(min(f, key=lambda n: (abs(n - s), n)) for f, s in zip(fits, spatial, strict=True))
