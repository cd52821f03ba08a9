"""verify: every analytic figure of a source next to what torch measures in one real forward
pass: shapes per layer, parameters, MACs (``FlopCounterMode`` total / 2, with the CPU
attention kernel counted). Imports torch."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnscope.errors import Location
from cnnscope.graph import Graph
from cnnscope.layers.base import Shape


@dataclass
class Check:
    what: str
    analytic: Any
    torch: Any
    ok: bool
    layer: str | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.what, "analytic": self.analytic, "torch": self.torch, "ok": self.ok}
        if self.layer is not None:
            out["layer"] = self.layer
        if self.note:
            out["note"] = self.note
        return out


def _analytic(graph: Graph, batch: int) -> tuple[dict[str, Shape], int, int]:
    """What the analyzers report — the figures a user sees — to hold against torch."""
    from cnnscope.analyze.base import analyze

    report = analyze(graph, ["params", "compute"], batch=batch)
    shapes = {row["name"]: tuple(row["output_shape"]) for row in report.rows}
    return shapes, int(report.totals["params"]), int(report.totals["macs"])


def _available_bytes() -> int | None:
    """Memory this process could get: MemAvailable (Linux), else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def _refuse_unallocatable(graph: Graph, batch: int) -> None:
    """Refuse, from the analytic figures, a forward pass whose tensors cannot be allocated:
    every layer's output is kept (the per-layer shapes are compared), plus the weights."""
    from cnnscope.analyze.base import analyze
    from cnnscope.errors import UsageError

    totals = analyze(graph, ["memory"], batch=batch).totals
    need = (
        int(totals.get("activation_bytes", 0)) + int(totals.get("param_bytes", 0)) + int(totals.get("buffer_bytes", 0))
    )
    have = _available_bytes()
    if have is not None and need > have // 2:
        raise UsageError(
            "too-large",
            f"verify would allocate about {need:,} bytes for `{graph.name}` at batch {batch} "
            f"(activations {int(totals.get('activation_bytes', 0)):,} B, weights "
            f"{int(totals.get('param_bytes', 0)):,} B); this machine has {have:,} bytes available",
            _input_loc(graph),
            "verify runs one real forward pass and keeps every layer's output: try a smaller --input or --batch",
        )


def _input_loc(graph: Graph) -> Location | None:
    section = graph.sections.get("input")
    loc = section.loc if section is not None else None
    return loc or (Location(graph.file, 1, 1) if graph.file else None)


def verify(
    source: str, input_shape: tuple[int, ...] | None = None, kwargs: str | None = None, batch: int = 1
) -> tuple[Graph, list[Check]]:
    """Every analytic figure of ``source`` next to what torch measures: shapes per layer,
    parameters, MACs (``FlopCounterMode`` total / 2)."""
    import torch

    from cnnscope.frontends.sources import is_module_source, load
    from cnnscope.frontends.torch.capture import capture
    from cnnscope.frontends.torch.meter import flop_counter
    from cnnscope.frontends.torch.preserve import preserved
    from cnnscope.frontends.torch.sources import resolve_model

    measured: dict[str, tuple[int, ...]] = {}
    notes = ""
    if is_module_source(source) and not Path(source).is_file():
        model, shape = resolve_model(source, input_shape, kwargs)
        have = _available_bytes()
        need = 4 * batch * math.prod(shape)  # the float32 input alone; the pass needs more
        if have is not None and need > have // 2:
            from cnnscope.errors import UsageError

            raise UsageError(
                "too-large",
                f"verify's input for `{source}` alone would be {need:,} bytes at batch {batch} "
                f"(shape {list(shape)}); this machine has {have:,} bytes available",
                hint="try a smaller --input or --batch",
            )
        graph = capture(model, shape, name=source.rsplit(":", 1)[-1], source=source, measure="real", batch=batch)
        measured = {k: tuple(v) for k, v in graph.extras["measured_shapes"].items()}  # torch's, at `batch`
        torch_params = sum(p.numel() for p in model.parameters())
        unused_info = graph.extras.get("unused_params") or {}
        unused = int(unused_info.get("trainable", 0)) + int(unused_info.get("non_trainable", 0))
        if unused:
            notes = f"{unused} parameters are not reached by the forward pass (counted in the total)"
        # with grad enabled: at inference without grad, nn.MultiheadAttention and the
        # transformer layers take fused fast paths whose multiply-adds the count cannot see
        with preserved(model), torch.enable_grad(), flop_counter() as fc:
            model(torch.randn(batch, *shape))
    else:
        from cnnscope.profile.build import build_module

        graph = load(source, input_shape)
        _refuse_unallocatable(graph, batch)
        gm = build_module(graph, batch)
        with torch.no_grad(), flop_counter() as fc:
            outs = gm(torch.randn(batch, *graph.input_shape), return_all=True)
        measured = {k: tuple(int(d) for d in v.shape) for k, v in outs.items()}
        seen: set[int] = set()
        torch_params = 0
        for node in graph.nodes:
            if node.shares is None:
                for p in gm.layer(node.name).parameters():
                    if id(p) not in seen:
                        seen.add(id(p))
                        torch_params += p.numel()
        unused = 0
    shapes, params, macs = _analytic(graph, batch)
    checks: list[Check] = []
    for node in graph.nodes:
        a, t = list(shapes[node.name]), list(measured.get(node.name, ()))
        checks.append(Check("shape", a, t, a == t, node.name))
    ok_params = params == torch_params
    checks.append(Check("params", params, torch_params, ok_params, note=notes))
    torch_macs = fc.get_total_flops() // 2
    unknown = [n.name for n in graph.nodes if not n.layer.cost_known()]
    note = f"{len(unknown)} unsupported layer(s): MACs are incomplete" if unknown else ""
    checks.append(Check("macs", macs, torch_macs, macs == torch_macs, note=note))
    return graph, checks
