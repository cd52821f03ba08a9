"""The timing engine: real forward passes of a graph's module on the CPU or a CUDA GPU.

For each batch size: the first call is timed on its own (it includes ``torch.compile``'s
work when asked), the warm-up calls are not timed, then blocks of calls are timed until
both a minimum number of blocks and a minimum time are reached (``torch.utils.benchmark``'s
blocked-autorange idea: a block is long enough that the clock's own cost vanishes), with the
cyclic garbage collector paused as ``timeit`` pauses it (a collection inside a block is not the
model's time; bench/profile_vs_timer.py holds the median to Timer's). On CUDA
each block is bracketed by CUDA events and read after synchronizing on the end event; the
host clock only decides when to stop. Everything runs under ``torch.inference_mode()`` on a
module in eval mode.

Results are plain numbers (``*_ms``, ``*_bytes``, ``*_per_s``); render/ formats them.
"""

from __future__ import annotations

import gc
import math
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from cnnscope.errors import CnnscopeError, UsageError
from cnnscope.graph import Graph
from cnnscope.profile.build import build_module
from cnnscope.profile.devices import DevicePeak, device_peak
from cnnscope.profile.options import ProfileOptions as ProfileOptions  # re-exported
from cnnscope.profile.perlayer import layer_costs, new_event, roofline, time_layers

DTYPES = ("float32", "float16", "bfloat16")
DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}
BLOCK_TARGET_S = 1e-3  # a timed block lasts at least this long
DTYPE_MODE = "cast"  # weights and input are converted to --dtype (no autocast)

Progress = Callable[[str, float], None]  # (what is running, fraction of the whole run done)


@dataclass(frozen=True)
class Stats:
    """Per-forward latency over the timed blocks (each sample = block time / calls per block)."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    samples: int  # timed blocks
    iters: int  # timed forward passes (samples × calls per block)
    calls_per_block: int
    total_s: float

    @staticmethod
    def of(samples_ms: Sequence[float], calls_per_block: int) -> Stats:
        s = sorted(samples_ms)
        return Stats(
            median_ms=quantile(s, 0.5),
            p10_ms=quantile(s, 0.1),
            p90_ms=quantile(s, 0.9),
            mean_ms=sum(s) / len(s),
            min_ms=s[0],
            max_ms=s[-1],
            samples=len(s),
            iters=len(s) * calls_per_block,
            calls_per_block=calls_per_block,
            total_s=sum(s) * calls_per_block / 1e3,
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    n = len(sorted_values)
    if n == 1:
        return float(sorted_values[0])
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo))


@dataclass
class BatchResult:
    batch: int
    status: str = "ok"  # ok | oom | interrupted
    latency: Stats | None = None
    throughput_per_s: float | None = None  # samples (images) per second: batch / median latency
    first_call_ms: float | None = None  # includes compilation with --compile
    peak_memory_bytes: int | None = None
    memory_kind: str = ""
    macs: int = 0
    flops: int = 0
    bytes_moved: int = 0
    roofline: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    layers: list[dict[str, Any]] | None = None
    per_layer: dict[str, Any] | None = None  # summed per-layer time, hooked forward, overhead

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("latency", "layers")}
        out["latency"] = self.latency.to_json() if self.latency else None
        if self.layers is not None:
            out["layers"] = self.layers
        return out


@dataclass
class ProfileResult:
    model: str
    source: str
    input_shape: tuple[int, ...]  # without batch
    options: ProfileOptions
    device: str
    device_name: str
    timer: str
    peak: DevicePeak
    threads: int
    results: list[BatchResult] = field(default_factory=list)
    compile_s: float | None = None
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        o = self.options
        return {
            "model": self.model,
            "source": self.source,
            "input_shape": list(self.input_shape),
            "device": self.device,
            "device_name": self.device_name,
            "dtype": o.dtype,
            "dtype_mode": DTYPE_MODE,
            "channels_last": o.channels_last,
            "compile": o.compile,
            "compile_s": self.compile_s,
            "threads": self.threads,
            "torch_version": torch.__version__,
            "timer": self.timer,
            "warmup": o.warmup,
            "min_iters": o.iters,
            "min_time_s": o.min_time_s,
            "peak": self.peak.to_json(),
            "interrupted": self.interrupted,
            "results": [r.to_json() for r in self.results],
            "notes": self.notes,
        }


def normalize_dtype(text: str) -> str:
    d = DTYPE_ALIASES.get(text.lower(), text.lower())
    if d not in DTYPES:
        raise UsageError("bad-option", f"--dtype must be one of {', '.join(DTYPES)} (or fp32/fp16/bf16), got `{text}`")
    return d


def resolve_device(text: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` -> a torch device that exists here (else exit 2)."""
    t = text.strip().lower()
    if t == "cpu":
        return torch.device("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", t)
    if m is None:
        raise UsageError("bad-option", f"--device must be cpu, cuda or cuda:N, got `{text}`")
    if not torch.cuda.is_available():
        why = "this torch is a CPU-only build" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise UsageError("no-cuda", f"--device {text}: CUDA is not available ({why})", hint="use --device cpu")
    idx = int(m.group(1) or 0)
    count = torch.cuda.device_count()
    if idx >= count:
        raise UsageError(
            "no-such-device",
            f"--device {text}: there {'is' if count == 1 else 'are'} {count} CUDA "
            f"device{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1})",
        )
    return torch.device("cuda", idx)


def check_options(o: ProfileOptions) -> None:
    if not o.batches or any(b < 1 for b in o.batches):
        raise UsageError("bad-option", "--batch must be positive integers, e.g. 1,8,32")
    if o.warmup < 0:
        raise UsageError("bad-option", f"--warmup must be 0 or more, got {o.warmup}")
    if o.iters < 1:
        raise UsageError("bad-option", f"--iters must be at least 1, got {o.iters}")
    if o.min_time_s < 0:
        raise UsageError("bad-option", f"--min-time must be 0 or more seconds, got {o.min_time_s}")
    if o.threads is not None and o.threads < 1:
        raise UsageError("bad-option", f"--threads must be at least 1, got {o.threads}")
    for flag, v in (("--peak-tflops", o.peak_tflops), ("--peak-gbps", o.peak_gbps)):
        if v is not None and v <= 0:
            raise UsageError("bad-option", f"{flag} must be positive, got {v:g}")


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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_block(fn: Callable[[], Any], number: int, device: torch.device) -> float:
    """Seconds for ``number`` calls: CUDA events on a GPU, the host clock on the CPU."""
    if device.type == "cuda":
        start = new_event()
        end = new_event()
        start.record()
        for _ in range(number):
            fn()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) / 1e3
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - t0


@dataclass
class Timing:
    samples_ms: list[float]
    calls_per_block: int
    interrupted: bool = False


def measure(
    fn: Callable[[], Any],
    device: torch.device,
    min_blocks: int,
    min_time_s: float,
    tick: Callable[[float], None] | None = None,
    block_target_s: float = BLOCK_TARGET_S,
) -> Timing:
    """Blocked autorange after warm-up: calibrate calls per block, then time blocks until both
    ``min_blocks`` blocks and ``min_time_s`` seconds of timed work are reached. Ctrl-C ends it
    early with the blocks measured so far (``interrupted``)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        t1 = time_block(fn, 1, device)  # calibration, not a sample
        number = max(1, math.ceil(block_target_s / t1)) if t1 > 0 else 1
        timing = Timing([], number)
        timed = 0.0
        try:
            while len(timing.samples_ms) < min_blocks or timed < min_time_s:
                s = time_block(fn, number, device)
                timed += s
                timing.samples_ms.append(s * 1e3 / number)
                if tick is not None:
                    done = len(timing.samples_ms) / min_blocks
                    tick(min(1.0, min(done, timed / min_time_s) if min_time_s > 0 else done))
        except KeyboardInterrupt:
            _sync(device)
            timing.interrupted = True
    finally:
        if collecting:
            gc.enable()
    return timing


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
    caller time the very module and input it times otherwise (bench/profile_vs_timer.py)."""
    check_options(opts)
    dtype_name = normalize_dtype(opts.dtype)
    opts = ProfileOptions(**{**opts.__dict__, "dtype": dtype_name})
    device = resolve_device(opts.device)
    if opts.threads is not None:
        torch.set_num_threads(opts.threads)
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
                _sync(device)
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
    _sync(device)
    br.first_call_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(max(0, opts.warmup - 1)):
        call()
    _sync(device)
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
            _sync(device)
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


__all__ = [
    "DTYPES",
    "BatchResult",
    "CnnscopeError",
    "ProfileOptions",
    "ProfileResult",
    "Stats",
    "measure",
    "profile",
    "resolve_device",
]
