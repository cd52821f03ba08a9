"""The timing engine: real forward passes of a graph's module on the CPU or a CUDA GPU.

For each batch size: the first call is timed on its own (it includes ``torch.compile``'s
work when asked), the warm-up calls are not timed, then blocks of calls are timed
(:mod:`cnnscope.profile.timing`: blocked autorange, CUDA events on a GPU). Everything runs
under ``torch.inference_mode()`` on a module in eval mode. The options are checked first
(:mod:`cnnscope.profile.settings`); what comes back is a :class:`ProfileResult`
(:mod:`cnnscope.profile.results`: plain numbers, formatted by render/).
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from cnnscope.errors import CnnscopeError, UsageError
from cnnscope.graph import Graph
from cnnscope.profile.build import build_module
from cnnscope.profile.devices import DevicePeak, device_peak
from cnnscope.profile.options import ProfileOptions
from cnnscope.profile.perlayer import layer_costs, roofline, time_layers
from cnnscope.profile.results import DTYPE_MODE, BatchResult, ProfileResult, Stats, quantile
from cnnscope.profile.settings import DTYPE_ALIASES, DTYPES, check_options, normalize_dtype, resolve_device
from cnnscope.profile.timing import BLOCK_TARGET_S, Timing, measure, sync, time_block

Progress = Callable[[str, float], None]  # (what is running, fraction of the whole run done)


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom is not None and isinstance(exc, oom):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


def _peak_rss_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)  # Linux reports KiB


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _to_memory_format(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    if not channels_last:
        return x
    if x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    if x.dim() == 5:
        return x.contiguous(memory_format=torch.channels_last_3d)
    return x


def profile(
    graph: Graph,
    opts: ProfileOptions,
    progress: Progress | None = None,
    module: Any = None,
    make_input: Callable[[int], torch.Tensor] | None = None,
) -> ProfileResult:
    """Build ``graph``'s module and time it at every batch size in ``opts.batches``.

    ``module`` (``graph``'s, built already) and ``make_input`` (batch size -> the input) let a
    caller time the very module and input it times otherwise (bench/profile_vs_timer.py).
    ``opts.threads`` holds for these passes only: torch's thread count is set back after them
    (``cnnscope check`` and ``assert_within_budget`` time inside someone else's process)."""
    check_options(opts)
    if opts.threads is None:
        return _profile(graph, opts, progress, module, make_input)
    before = torch.get_num_threads()
    torch.set_num_threads(opts.threads)
    try:
        return _profile(graph, opts, progress, module, make_input)
    finally:
        torch.set_num_threads(before)


def _profile(
    graph: Graph,
    opts: ProfileOptions,
    progress: Progress | None,
    module: Any,
    make_input: Callable[[int], torch.Tensor] | None,
) -> ProfileResult:
    dtype_name = normalize_dtype(opts.dtype)
    opts = ProfileOptions(**{**opts.__dict__, "dtype": dtype_name})
    device = resolve_device(opts.device)
    dtype = getattr(torch, dtype_name)
    module = (module if module is not None else build_module(graph)).to(device=device, dtype=dtype)
    rank = len(graph.input_shape) + 1
    notes: list[str] = [f"--dtype {dtype_name}: weights and input cast to {dtype_name} (not autocast)"]
    if opts.channels_last:
        if rank in (4, 5):
            fmt = torch.channels_last if rank == 4 else torch.channels_last_3d
            module = module.to(memory_format=fmt)
        else:
            notes.append(f"--channels-last ignored: the input has {rank} dimensions (needs 4 or 5)")
    cuda = device.type == "cuda"
    tf32 = bool(cuda and dtype_name == "float32" and torch.backends.cudnn.allow_tf32)
    name = torch.cuda.get_device_name(device) if cuda else "cpu"
    threads = torch.get_num_threads()
    peak = device_peak(
        device.type,
        name,
        dtype_name,
        tf32=tf32,
        threads=threads,
        peak_tflops=opts.peak_tflops,
        peak_gbps=opts.peak_gbps,
    )
    fn: Any = module
    if opts.compile:
        fn = torch.compile(module)
        notes.append(
            "--compile: the first call at each batch size includes compilation (first_call_ms); "
            "compile_s is the first batch size's; per-layer times are from the eager module"
        )
    result = ProfileResult(
        model=graph.name,
        source=graph.source,
        input_shape=tuple(graph.input_shape),
        options=opts,
        device=str(device),
        device_name=name,
        timer="cuda-events" if cuda else "host perf_counter",
        peak=peak,
        threads=threads,
        notes=notes,
    )
    steps = len(opts.batches) * (2 if opts.per_layer else 1)

    def report(what: str, k: int, frac: float) -> None:
        if progress is not None:
            progress(what, (k + frac) / steps)

    with torch.inference_mode():
        for i, b in enumerate(opts.batches):
            k = i * (2 if opts.per_layer else 1)
            try:
                br = _profile_batch(
                    graph, module, fn, device, dtype, b, opts, peak, partial(_at, report, k), make_input
                )
            except KeyboardInterrupt:
                sync(device)
                result.results.append(BatchResult(b, status="interrupted"))
                result.interrupted = True
                break
            except Exception as exc:
                if not is_oom(exc):
                    if opts.compile and type(exc).__module__.startswith(("torch._dynamo", "torch._inductor")):
                        raise UsageError(
                            "compile-failed",
                            f"torch.compile failed: {str(exc).splitlines()[0]}",
                            hint="run without --compile",
                        ) from None
                    raise
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                result.results.append(BatchResult(b, status="oom", error=msg))
                _free(device)
                report(f"batch {b}: out of memory", k, 1.0)
                continue
            result.results.append(br)
            if result.compile_s is None and opts.compile and br.first_call_ms is not None:
                result.compile_s = br.first_call_ms / 1e3
            if br.status == "interrupted":
                result.interrupted = True
                break
    return result


def _at(report: Callable[[str, int, float], None], k: int, what: str, frac: float) -> None:
    report(what, k, frac)


def _profile_batch(
    graph: Graph,
    module: Any,
    fn: Any,
    device: torch.device,
    dtype: torch.dtype,
    b: int,
    opts: ProfileOptions,
    peak: DevicePeak,
    report: Callable[[str, float], None],
    make_input: Callable[[int], torch.Tensor] | None = None,
) -> BatchResult:
    cuda = device.type == "cuda"
    br = BatchResult(b)
    costs = layer_costs(graph, b, opts.dtype)
    br.macs = sum(c.macs for c in costs)
    br.flops = sum(c.flops for c in costs)
    br.bytes_moved = sum(c.bytes_moved for c in costs)
    x = make_input(b) if make_input is not None else torch.randn((b, *graph.input_shape), device=device, dtype=dtype)
    x = _to_memory_format(x, opts.channels_last)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        rss0 = _peak_rss_bytes()
    report(f"batch {b}: first call" + (" (compiling)" if opts.compile else ""), 0.0)

    def call() -> Any:
        return fn(x)

    t0 = time.perf_counter()
    call()
    sync(device)
    br.first_call_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(max(0, opts.warmup - 1)):
        call()
    sync(device)
    report(f"batch {b}: timing", 0.0)
    timing = measure(call, device, opts.iters, opts.min_time_s, lambda f: report(f"batch {b}: timing", f))
    if cuda:
        br.peak_memory_bytes = int(torch.cuda.max_memory_allocated(device))
        br.memory_kind = f"CUDA allocator peak (weights, input and activations; {base} B allocated before)"
    else:
        br.peak_memory_bytes = max(0, _peak_rss_bytes() - rss0)
        br.memory_kind = "process peak RSS growth (0 when an earlier peak was higher)"
    if not timing.samples_ms:
        br.status = "interrupted"
        return br
    br.latency = Stats.of(timing.samples_ms, timing.calls_per_block)
    br.throughput_per_s = b / (br.latency.median_ms / 1e3)
    br.roofline = roofline(br.flops, br.bytes_moved, br.latency.median_ms / 1e3, peak)
    if timing.interrupted:
        br.status = "interrupted"
        return br
    if opts.per_layer:
        report(f"batch {b}: per layer", 1.0)
        names = [n.name for n in graph.nodes]
        try:
            pl = time_layers(
                module, names, lambda: module(x), device, runs=max(1, opts.iters), warmup=1 if opts.warmup else 0
            )
        except KeyboardInterrupt:
            sync(device)
            br.status = "interrupted"
            return br
        summed = sum(pl.layer_ms.values())
        br.per_layer = {
            "runs": pl.runs,
            "sum_layers_ms": summed,
            "hooked_forward_ms": pl.hooked_forward_ms,
            "end_to_end_ms": br.latency.median_ms,
            "overhead_ms": summed - br.latency.median_ms,
            "overhead_ratio": summed / br.latency.median_ms - 1 if br.latency.median_ms > 0 else None,
            "hook_overhead_ratio": pl.hooked_forward_ms / br.latency.median_ms - 1
            if br.latency.median_ms > 0
            else None,
        }
        rows = []
        for c in costs:
            t = pl.layer_ms[c.name]
            row: dict[str, Any] = {
                "name": c.name,
                "type": c.type,
                "time_ms": t,
                "share": t / summed if summed > 0 else None,
                "macs": c.macs,
                "flops": c.flops,
                "bytes_moved": c.bytes_moved,
            }
            row.update(roofline(c.flops, c.bytes_moved, t / 1e3, peak))
            rows.append(row)
        br.layers = rows
        report(f"batch {b}: per layer", 2.0)
    return br


__all__ = [  # the profiler's names, here as before the split into results, settings and timing
    "BLOCK_TARGET_S",
    "DTYPES",
    "DTYPE_ALIASES",
    "DTYPE_MODE",
    "BatchResult",
    "CnnscopeError",
    "ProfileOptions",
    "ProfileResult",
    "Progress",
    "Stats",
    "Timing",
    "check_options",
    "is_oom",
    "measure",
    "normalize_dtype",
    "profile",
    "quantile",
    "resolve_device",
    "time_block",
]
