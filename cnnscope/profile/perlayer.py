"""Per-layer timing with forward hooks, and the roofline placement of each layer.

The analytic side (FLOPs, bytes moved) comes from the layer types themselves; the timing
side wraps each node's module in a pre-/post-forward hook pair: on CUDA a pair of CUDA
events (read after one synchronize at the end of the forward), on the CPU the host clock.
The hooks are removed afterwards. Hooks add their own cost; the caller compares the summed
per-layer time with the plain end-to-end latency and reports the difference.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from cnnscope.analyze.memory import DTYPE_BYTES, element_bytes, element_types
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.graph import Graph
from cnnscope.layers.base import numel
from cnnscope.profile.devices import DevicePeak


@dataclass(frozen=True)
class LayerCost:
    """Analytic figures for one node at one batch size."""

    name: str
    type: str
    macs: int
    flops: int  # 2 × macs (a multiply-add is two FLOPs)
    bytes_moved: int  # input + output activations + weights, once each, in the run's dtype

    @property
    def intensity(self) -> float | None:
        return self.flops / self.bytes_moved if self.bytes_moved else None


def layer_costs(graph: Graph, batch: int, dtype: str) -> list[LayerCost]:
    """FLOPs and bytes moved for every node (graph order) at ``batch``."""
    size = DTYPE_BYTES[dtype]
    shapes = infer_shapes(graph, batch)
    kinds = element_types(graph)
    out: list[LayerCost] = []
    for node in graph.nodes:
        ins = [shapes[i] for i in node.inputs]
        o = shapes[node.name]
        macs = int(node.layer.macs(ins, o))
        pc = node.layer.params(ins)
        moved = sum(numel(s) * element_bytes(kinds[i], size) for s, i in zip(ins, node.inputs, strict=True))
        moved += numel(o) * element_bytes(kinds[node.name], size) + (pc.total + pc.buffers) * size
        out.append(LayerCost(node.name, node.type, macs, 2 * macs, moved))
    return out


def roofline(flops: float, bytes_moved: float, seconds: float | None, peak: DevicePeak) -> dict[str, Any]:
    """Achieved rates, arithmetic intensity and the bound a kernel sits under."""
    ai = flops / bytes_moved if bytes_moved else None
    row: dict[str, Any] = {
        "intensity_flop_per_byte": ai,
        "achieved_flops_per_s": None,
        "achieved_bytes_per_s": None,
        "pct_of_peak_flops": None,
        "pct_of_roof": None,
        "bound": None,
    }
    if seconds and seconds > 0:
        row["achieved_flops_per_s"] = flops / seconds if flops else None
        row["achieved_bytes_per_s"] = bytes_moved / seconds
    ridge = peak.ridge
    if ai is not None and ridge is not None:
        row["bound"] = "compute" if ai >= ridge else "memory"
    if row["achieved_flops_per_s"] is not None and peak.flops_per_s:
        row["pct_of_peak_flops"] = row["achieved_flops_per_s"] / peak.flops_per_s
        attainable = (
            peak.flops_per_s if peak.bytes_per_s is None or ai is None else min(peak.flops_per_s, ai * peak.bytes_per_s)
        )
        if attainable > 0 and flops > 0:
            row["pct_of_roof"] = row["achieved_flops_per_s"] / attainable
    return row


def new_event() -> Any:
    """A timing CUDA event (torch's constructor is untyped)."""
    event: Any = torch.cuda.Event
    return event(enable_timing=True)


@dataclass
class PerLayerTiming:
    layer_ms: dict[str, float]  # median per forward, per node
    hooked_forward_ms: float  # median of the whole hooked forward
    runs: int


def time_layers(
    module: Any,
    names: list[str],
    run: Callable[[], Any],
    device: torch.device,
    runs: int,
    warmup: int = 1,
) -> PerLayerTiming:
    """Median time of each named layer over ``runs`` hooked forwards (``run()`` does one)."""
    cuda = device.type == "cuda"
    per_run: dict[str, list[float]] = {n: [] for n in names}
    totals: list[float] = []
    current: dict[str, float] = {}
    pending: list[tuple[str, Any, Any]] = []
    starts: dict[str, Any] = {}
    handles: list[Any] = []

    def make(name: str) -> tuple[Callable[..., None], Callable[..., None]]:
        def pre(_m: Any, _args: Any) -> None:
            if cuda:
                ev = new_event()
                ev.record()
                starts[name] = ev
            else:
                starts[name] = time.perf_counter()

        def post(_m: Any, _args: Any, _out: Any) -> None:
            if cuda:
                ev = new_event()
                ev.record()
                pending.append((name, starts.pop(name), ev))
            else:
                t = time.perf_counter()
                current[name] = current.get(name, 0.0) + (t - starts.pop(name)) * 1e3

        return pre, post

    try:
        for n in names:
            pre, post = make(n)
            m = module.layer(n)
            handles.append(m.register_forward_pre_hook(pre))
            handles.append(m.register_forward_hook(post))
        for k in range(warmup + runs):
            current.clear()
            pending.clear()
            if cuda:
                t0 = new_event()
                t1 = new_event()
                t0.record()
                run()
                t1.record()
                torch.cuda.synchronize(device)
                total = float(t0.elapsed_time(t1))
                for name, a, b in pending:
                    current[name] = current.get(name, 0.0) + float(a.elapsed_time(b))
            else:
                s = time.perf_counter()
                run()
                total = (time.perf_counter() - s) * 1e3
            if k >= warmup:
                totals.append(total)
                for n in names:
                    per_run[n].append(current.get(n, 0.0))
    finally:
        for h in handles:
            h.remove()
    return PerLayerTiming({n: statistics.median(v) for n, v in per_run.items()}, statistics.median(totals), runs)
