"""Receptive fields by measurement: the oracle the analytic numbers are checked against.

The convention (also in docs/receptive-field.md): build the graph in torch, then make it a
network whose every path carries a positive gradient:

- convolution and linear weights are all ``1 / fan_in`` (positive, and the values stay
  bounded however deep the network), biases 0;
- every activation and every normalization becomes the identity (dropout is off in eval);
- max-pooling becomes a sum over exactly the same windows (kernel, stride, padding,
  dilation and ceil_mode kept, the padding contributing nothing), adaptive max-pooling the
  adaptive average of the same output size; average pools stay as they are;
- the input is all ones, the arithmetic float64.

Then the gradient of one output unit (summed over channels) is non-zero on exactly the input
positions that unit can see. Per spatial dim, its first and last non-zero positions ``a``
and ``b`` give the size ``b − a + 1``; the neighbouring unit (one step further in every dim)
gives the effective stride ``a' − a``; and unit ``u`` starts at ``u·stride − padding``, which
gives the effective padding. A span that touches the input's border may be clipped: the
result says so, and the caller picks a larger input.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnscope.graph import INPUT, Graph
from cnnscope.profile.build import GraphModule, build_module


@dataclass(frozen=True)
class Measured:
    size: tuple[int, ...]
    stride: tuple[int | None, ...]
    padding: tuple[int | None, ...]
    whole_input: bool
    clipped: bool
    unit: tuple[int, ...]
    spatial: tuple[int, ...]


class WindowSum(nn.Module):
    """Max-pooling's windows, summed: every position in a window gets a positive gradient."""

    def __init__(self, nd: int, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool) -> None:
        super().__init__()
        self.nd = nd
        self.k = _tup(kernel, nd)
        self.s = _tup(stride if stride is not None else kernel, nd)
        self.p = _tup(padding, nd)
        self.d = _tup(dilation, nd)
        self.ceil_mode = ceil_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = x.shape[2:]
        pads: list[int] = []
        for i in reversed(range(self.nd)):  # F.pad lists the last dim first
            size, k, s, p, d = spatial[i], self.k[i], self.s[i], self.p[i], self.d[i]
            out = _pool_out(size, k, s, p, d, self.ceil_mode)
            need = (out - 1) * s + d * (k - 1) + 1
            pads += [p, need - size - p]
        y = F.pad(x, pads)
        c = x.shape[1]
        w = torch.full((c, 1, *self.k), 1.0 / prod(self.k), dtype=x.dtype)
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.nd - 1]
        return conv(y, w, stride=self.s, dilation=self.d, groups=c)  # type: ignore[operator]


def _tup(v: Any, nd: int) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v),) * nd


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


_NORMS = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.RMSNorm,
    nn.LocalResponseNorm,
)
_MAXPOOLS = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3}
_ADAPTIVE_MAX = {
    nn.AdaptiveMaxPool1d: nn.AdaptiveAvgPool1d,
    nn.AdaptiveMaxPool2d: nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool3d: nn.AdaptiveAvgPool3d,
}


def _replacement(m: nn.Module) -> nn.Module | None:
    if type(m) in _MAXPOOLS:
        return WindowSum(_MAXPOOLS[type(m)], m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)
    if type(m) in _ADAPTIVE_MAX:
        return _ADAPTIVE_MAX[type(m)](m.output_size)
    if isinstance(m, _NORMS) or type(m).__module__ == "torch.nn.modules.activation":
        return nn.Identity()
    return None


def make_positive(module: nn.Module) -> nn.Module:
    """Apply the measurement convention in place (see the module docstring)."""
    for name, child in list(module.named_children()):
        repl = _replacement(child)
        if repl is not None:
            setattr(module, name, repl)
            continue
        make_positive(child)
        with torch.no_grad():
            if isinstance(child, (nn.modules.conv._ConvNd, nn.Linear)):
                child.weight.fill_(1.0 / child.weight[0].numel())
                if child.bias is not None:
                    child.bias.zero_()
    return module


def ancestors(graph: Graph, node: str) -> Graph:
    """The sub-graph that ``node`` depends on, with ``node`` as its output."""
    keep = {node}
    for n in reversed(graph.nodes):
        if n.name in keep:
            keep.update(i for i in n.inputs if i != INPUT)
    nodes = [n for n in graph.nodes if n.name in keep]
    return Graph.build(graph.name, graph.input_shape, nodes, output=node, source=graph.source)


def positive_module(graph: Graph, node: str | None = None, spatial: tuple[int, ...] | None = None) -> GraphModule:
    g = ancestors(graph, node or graph.output)
    if spatial is not None:
        g = Graph.build(g.name, (g.input_shape[0], *spatial), g.nodes, output=g.output, source=g.source)
    gm = build_module(g)
    make_positive(gm)
    return gm.double()


def measure_rf(graph: Graph, node: str | None = None, spatial: tuple[int, ...] | None = None) -> Measured:
    """Measure the receptive field of ``node`` (default: the output) on an input of ``spatial`` size."""
    gm = positive_module(graph, node, spatial)
    in_spatial = tuple(spatial or graph.input_shape[1:])
    x = torch.ones((1, graph.input_shape[0], *in_spatial), dtype=torch.float64, requires_grad=True)
    out = gm(x)
    nd = len(in_spatial)
    if out.dim() - 2 != nd:  # no spatial positions left: the whole output, one gradient
        (g,) = torch.autograd.grad(out.sum(), x)
        seen = g[0].abs().sum(0) > 0
        return Measured(in_spatial, (None,) * nd, (None,) * nd, bool(seen.all()), False, (), in_spatial)
    osz = tuple(out.shape[2:])
    unit = tuple(o // 2 for o in osz)
    spans = _spans(out, x, unit)
    nxt = tuple(u + 1 for u in unit)
    has_next = [u + 1 < o for u, o in zip(unit, osz, strict=True)]
    spans_next = _spans(out, x, tuple(n if ok else u for n, u, ok in zip(nxt, unit, has_next, strict=True)))
    size = tuple(b - a + 1 for a, b in spans)
    stride: list[int | None] = []
    padding: list[int | None] = []
    for d in range(nd):
        if not has_next[d]:
            stride.append(None)
            padding.append(None)
            continue
        s = spans_next[d][0] - spans[d][0]
        stride.append(s)
        padding.append(unit[d] * s - spans[d][0])
    clipped = any(a <= 0 or b >= n - 1 for (a, b), n in zip(spans, in_spatial, strict=True))
    whole = all(a == 0 and b == n - 1 for (a, b), n in zip(spans, in_spatial, strict=True))
    return Measured(size, tuple(stride), tuple(padding), whole, clipped, unit, in_spatial)


def _spans(out: torch.Tensor, x: torch.Tensor, unit: tuple[int, ...]) -> list[tuple[int, int]]:
    (g,) = torch.autograd.grad(out[(0, slice(None), *unit)].sum(), x, retain_graph=True)
    mask = g[0].abs().sum(0) > 0
    nd = mask.dim()
    spans = []
    for d in range(nd):
        other = tuple(i for i in range(nd) if i != d)
        line = mask.any(dim=other) if other else mask
        idx = torch.nonzero(line).flatten()
        if idx.numel() == 0:
            raise AssertionError(f"output unit {unit} has no non-zero input gradient")
        spans.append((int(idx.min()), int(idx.max())))
    return spans


def seen_positions(graph: Graph, units: dict[str, bool]) -> dict[str, torch.Tensor]:
    """On the graph's own input: for each node, the input positions with a non-zero gradient of
    its centre unit (``True``; summed over channels) or of all its units together (``False``).
    A unit that sees everything its inputs' units see together maps to no window."""
    x = torch.ones((1, *graph.input_shape), dtype=torch.float64, requires_grad=True)
    outs = positive_module(graph)(x, return_all=True)
    outs[INPUT] = x
    masks: dict[str, torch.Tensor] = {}
    for name, one_unit in units.items():
        out = outs[name]
        if one_unit and out.dim() > 2:
            out = out[(0, slice(None), *(d // 2 for d in out.shape[2:]))]
        (g,) = torch.autograd.grad(out.sum(), x, retain_graph=True)
        masks[name] = g[0].abs().sum(0) > 0
    return masks
