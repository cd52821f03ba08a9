"""Empirical effective receptive field (Luo, Li, Urtasun & Zemel, NeurIPS 2016).

At random initialization, the gradient of one output unit with respect to the input is
spread over the theoretical receptive field very unevenly: it is concentrated near the centre
and falls off roughly like a Gaussian. This measures it: build the graph in torch (default
initialization, eval mode), feed random normal inputs, backpropagate a gradient of 1 from
every channel of the centre output unit, and average the magnitude of the input gradient
over channels and over a few draws of weights and inputs. Imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnscope.analyze.rf import RFInfo, receptive_fields
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import UsageError
from cnnscope.graph import INPUT, Graph
from cnnscope.profile.build import build_module


@dataclass(frozen=True)
class EffectiveRF:
    """The averaged |gradient| map of one output unit and how concentrated it is."""

    node: str
    unit: tuple[int, ...]  # the output position backpropagated from
    centre: tuple[float, ...]  # its theoretical centre, in input pixels
    grid: list[list[float]]  # 2-d view of the map (1-d: one row; 3-d: the central slice), max 1
    radius: float  # Euclidean radius (input pixels) around the centre holding ``mass`` of the gradient
    mass: float
    theoretical: RFInfo
    draws: int
    inside_fraction: float  # share of the gradient inside the theoretical field's box

    def to_json(self) -> dict[str, object]:
        half = [(r - 1) / 2 for r in self.theoretical.size]
        return {
            "layer": self.node,
            "unit": list(self.unit),
            "centre": list(self.centre),
            "mass": self.mass,
            "radius": self.radius,
            "theoretical_size": list(self.theoretical.size),
            "radius_over_theoretical_half_size": [self.radius / h if h else None for h in half],
            "inside_theoretical_fraction": self.inside_fraction,
            "draws": self.draws,
        }


def default_layer(graph: Graph, fields: dict[str, RFInfo] | None = None) -> str:
    """The last layer whose output still has positions with a known receptive field."""
    fields = fields or receptive_fields(graph)
    for node in reversed(graph.nodes):
        if fields[node.name].ok and fields[node.name].ndim > 0:
            return node.name
    raise UsageError(
        "no-spatial-layer",
        "no layer has spatial positions with a known receptive field",
        hint="--erf needs a convolutional part to backpropagate from",
    )


def effective_rf(
    graph: Graph, layer: str | None = None, draws: int = 4, seed: int = 0, mass: float = 0.95
) -> EffectiveRF:
    fields = receptive_fields(graph)
    node = layer or default_layer(graph, fields)
    if node not in graph:
        from cnnscope.errors import did_you_mean

        raise UsageError("unknown-layer", f"no layer `{node}`{did_you_mean(node, [n.name for n in graph.nodes])}")
    rf = fields[node]
    if not rf.ok or rf.ndim == 0:
        raise UsageError(
            "no-spatial-layer",
            f"layer `{node}` has no spatial positions with a known receptive field",
            hint="pick a convolutional layer with --layer",
        )
    if draws < 1:
        raise UsageError("bad-option", f"--draws must be a positive integer, got {draws}")
    keep = {node}
    for n in reversed(graph.nodes):
        if n.name in keep:
            keep.update(i for i in n.inputs if i != INPUT)
    sub = Graph.build(graph.name, graph.input_shape, [n for n in graph.nodes if n.name in keep], output=node)
    out_spatial = infer_shapes(sub)[node][2:]
    unit = tuple(o // 2 for o in out_spatial)
    total: torch.Tensor | None = None
    gen = torch.Generator().manual_seed(seed)
    for k in range(draws):
        torch.manual_seed(seed * 1000 + k)
        gm = build_module(sub)
        x = torch.randn((1, *graph.input_shape), generator=gen, requires_grad=True)
        out = gm(x)
        (g,) = torch.autograd.grad(out[(0, slice(None), *unit)].sum(), x)
        a = g[0].abs().sum(0).detach().double()
        total = a if total is None else total + a
    assert total is not None
    m = total / draws
    spans = rf.span(unit)
    centre = tuple((lo + hi) / 2 for lo, hi in spans)
    radius = _radius(m, centre, mass)
    inside = _inside(m, spans)
    return EffectiveRF(node, unit, centre, _grid(m), radius, mass, rf, draws, inside)


def _radius(m: torch.Tensor, centre: tuple[float, ...], mass: float) -> float:
    coords = torch.meshgrid(*[torch.arange(n, dtype=torch.float64) for n in m.shape], indexing="ij")
    dist = torch.zeros_like(m)
    for c, x in zip(centre, coords, strict=True):
        dist = dist + (x - c) ** 2
    dist = dist.sqrt().flatten()
    w = m.flatten()
    tot = float(w.sum())
    if tot == 0:
        return 0.0
    order = torch.argsort(dist)
    cum = torch.cumsum(w[order], 0) / tot
    idx = int(torch.searchsorted(cum, torch.tensor(mass, dtype=cum.dtype)))
    idx = min(idx, len(order) - 1)
    return float(dist[order[idx]])


def _inside(m: torch.Tensor, spans: list[tuple[int, int]]) -> float:
    tot = float(m.sum())
    if tot == 0:
        return 0.0
    sl = tuple(slice(max(lo, 0), max(hi + 1, 0)) for lo, hi in spans)
    return float(m[sl].sum()) / tot


def _grid(m: torch.Tensor) -> list[list[float]]:
    if m.dim() == 1:
        view = m[None, :]
    elif m.dim() == 2:
        view = m
    else:  # 3-d: the central slice of the leading dims
        view = m
        while view.dim() > 2:
            view = view[view.shape[0] // 2]
    peak = float(view.max()) or 1.0
    return [[float(v) / peak for v in row] for row in view]
