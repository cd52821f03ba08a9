"""What a profile found: per-forward latency statistics, one result per batch size, and the run
as a whole (imports torch, for the version it records).

Results are plain numbers (``*_ms``, ``*_bytes``, ``*_per_s``); render/ formats them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from cnnscope.profile.devices import DevicePeak
from cnnscope.profile.options import ProfileOptions

DTYPE_MODE = "cast"  # weights and input are converted to --dtype (no autocast)


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
