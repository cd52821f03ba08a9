"""A profile (``cnnscope.profile.runner``) as a document: how it was timed, one row per batch
size, and with --per-layer a table per batch size of the layers, slowest first with --top."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnscope.render.document import NEVER, Document, Field, Table, Text, heading
from cnnscope.render.units import fmt, plural

if TYPE_CHECKING:
    from cnnscope.profile.runner import BatchResult, ProfileResult

SUMMARY = (
    Field("batch", "batch", "count", priority=NEVER),
    Field("status", "status", priority=NEVER),
    Field("latency.median_ms", "median", "ms", priority=95),
    Field("latency.p10_ms", "p10", "ms", priority=60),
    Field("latency.p90_ms", "p90", "ms", priority=70),
    Field("latency.iters", "iters", "count", priority=40),
    Field("throughput_per_s", "samples/s", "per_s", priority=90),
    Field("roofline.achieved_flops_per_s", "achieved", "flops_rate", priority=50),
    Field("roofline.pct_of_peak_flops", "% peak", "percent", priority=50),
    Field("roofline.intensity_flop_per_byte", "FLOP/B", "intensity", priority=45),
    Field("roofline.bound", "bound", priority=45),
    Field("peak_memory_bytes", "peak mem", "bytes", priority=80),
    Field("first_call_ms", "first call", "ms", priority=30),
)

LAYERS = (
    Field("name", "layer", priority=NEVER, wrap=True, min_width=16, code=True),
    Field("type", "type", priority=90),
    Field("time_ms", "time", "ms", priority=95),
    Field("share", "share", "percent", priority=85),
    Field("flops", "FLOPs", "flops", priority=70),
    Field("achieved_flops_per_s", "achieved", "flops_rate", priority=60),
    Field("achieved_bytes_per_s", "bandwidth", "bytes_rate", priority=50),
    Field("intensity_flop_per_byte", "FLOP/B", "intensity", priority=45),
    Field("bound", "bound", priority=55),
    Field("pct_of_roof", "% roof", "percent", priority=50),
)


def top_layers(rows: list[dict[str, Any]], top: int | None) -> list[dict[str, Any]]:
    """The ``top`` slowest layers, slowest first (every layer, in order, without ``top``)."""
    if top is None:
        return rows
    return sorted(rows, key=lambda r: -(r.get("time_ms") or 0.0))[:top]


def data(result: ProfileResult, top: int | None) -> dict[str, Any]:
    out = result.to_json()
    if top is not None:
        for r in out["results"]:
            if r.get("layers") is not None:
                shown = top_layers(r["layers"], top)
                r["layers_omitted"] = len(r["layers"]) - len(shown)
                r["layers"] = shown
    return out


def headline(result: ProfileResult) -> list[str]:
    o = result.options
    flags = [f"dtype {o.dtype} (cast)"]
    if o.channels_last:
        flags.append("channels-last")
    if o.compile:
        flags.append(
            "torch.compile" + (f", compiled in {fmt(result.compile_s * 1000, 'ms')}" if result.compile_s else "")
        )
    lines = [
        f"{result.model} · input {fmt(list(result.input_shape), 'shape')} · {result.device} ({result.device_name}), "
        f"{result.threads} threads · " + ", ".join(flags),
        f"timer: {result.timer}; warm-up {o.warmup}, at least {plural(o.iters, 'block')} "
        f"and {o.min_time_s:g} s per batch size",
        f"device peak: {fmt(result.peak.flops_per_s, 'flops_rate')}, {fmt(result.peak.bytes_per_s, 'bytes_rate')} "
        f"({result.peak.source})",
    ]
    mem = next((r.memory_kind for r in result.results if r.memory_kind), "")
    if mem:
        lines.append(f"peak mem: {mem}")
    return lines


def overhead_line(r: BatchResult) -> str:
    p = r.per_layer or {}

    def signed(x: Any) -> str:
        return "–" if x is None else ("+" if x >= 0 else "") + fmt(x, "percent")

    return (
        f"per-layer mode (forward hooks, {p.get('runs')} runs): layers sum to {fmt(p.get('sum_layers_ms'), 'ms')}"
        f" = {signed(p.get('overhead_ratio'))} vs the plain end-to-end {fmt(p.get('end_to_end_ms'), 'ms')}; "
        f"the hooked forward took {fmt(p.get('hooked_forward_ms'), 'ms')} ({signed(p.get('hook_overhead_ratio'))})"
    )


def document(result: ProfileResult, top: int | None = None) -> Document:
    blocks: list[Any] = [heading(f"profile: {result.model}")]
    blocks += [Text(line, "bullet", "dim") for line in headline(result)]
    blocks.append(Table(SUMMARY, [r.to_json() for r in result.results]))
    layer_rows: list[dict[str, Any]] = []
    for r in result.results:
        if r.error:
            blocks.append(Text(f"batch {r.batch}: {r.status}: {r.error}", style="yellow"))
        if r.layers is None:
            continue
        shown = top_layers(r.layers, top)
        layer_rows += [{"batch": r.batch, **row} for row in shown]
        title = f"per layer, batch {r.batch}" + (f" (top {top} by time)" if top else "")
        blocks += [Table(LAYERS, shown, title=title), Text(overhead_line(r), "caption")]
    blocks += [Text(n, "note") for n in result.notes]
    csv = Table((Field("batch", "batch"), *LAYERS), layer_rows) if layer_rows else None
    return Document(blocks, data(result, top), csv=csv)
