"""Measured figures: what a budget on latency, throughput or peak memory needs.

They are not analytic: only when a budget names one is the model timed, with the profiler's
engine (``cnnscope.profile.runner``, which imports torch: this is the one module of the
gate that reaches it, and only then). Each figure declares its unit here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from cnnscope.config import Config
from cnnscope.errors import UsageError, did_you_mean
from cnnscope.gate.quantity import Number
from cnnscope.graph import Graph
from cnnscope.profile.options import ProfileOptions

# Figures that exist only when the model is run, with their units; everything else is analytic.
MEASURED_UNITS = {
    "latency_ms": "ms",
    "latency_median_ms": "ms",
    "latency_p90_ms": "ms",
    "throughput_per_s": "per_s",
    "peak_memory_bytes": "bytes",
}
MEASURED = tuple(MEASURED_UNITS)
# Short budget names people write for them: min_throughput = min_throughput_per_s, ...
MEASURED_ALIASES = {
    "latency": "latency_ms",
    "latency_median": "latency_median_ms",
    "latency_p90": "latency_p90_ms",
    "throughput": "throughput_per_s",
    "peak_memory": "peak_memory_bytes",
}
LATENCY_STATISTICS = ("median", "p90")


@dataclass(frozen=True)
class MeasureOptions(ProfileOptions):
    """The profiler's options, and which statistic of the timed blocks ``latency_ms`` is
    (``median`` | ``p90``). ``batches`` is ignored: a check times the batch it analyzes."""

    statistic: str = "median"

    def validate(self) -> None:
        """What can be checked without torch (the runner checks the rest when it runs)."""
        if self.statistic not in LATENCY_STATISTICS:
            raise UsageError(
                "bad-option",
                f"--latency-statistic must be one of {', '.join(LATENCY_STATISTICS)}, got `{self.statistic}`",
            )
        if re.fullmatch(r"cpu|cuda(?::\d+)?", self.device.strip().lower()) is None:
            raise UsageError("bad-option", f"--device must be cpu, cuda or cuda:N, got `{self.device[:80]}`")
        if not (math.isfinite(self.min_time_s) and 0 <= self.min_time_s <= 3600):
            raise UsageError(
                "bad-option", f"--min-time must be a number of seconds from 0 to 3600, got {self.min_time_s}"
            )
        for name, v in (("--warmup", self.warmup), ("--iters", self.iters)):
            if not 0 <= v <= 1_000_000:
                raise UsageError("bad-option", f"{name} must be from 0 to 1,000,000, got {v}")
        if self.threads is not None and not 1 <= self.threads <= 4096:
            raise UsageError("bad-option", f"--threads must be from 1 to 4096, got {self.threads}")

    def profile_options(self, batch: int) -> ProfileOptions:
        """These options for one timed batch size, as the profiler takes them."""
        own = {f.name: getattr(self, f.name) for f in fields(ProfileOptions)}
        return ProfileOptions(**{**own, "batches": (batch,)})


MEASURE_KEYS = {
    "device": str,
    "threads": int,
    "latency_statistic": str,
    "warmup": int,
    "iters": int,
    "min_time": float,
}


def measure_options(config: Config | None, dtype: str = "float32", **given: Any) -> MeasureOptions:
    """Timing settings: a command-line value (not None) wins, then ``[tool.cnnscope.measure]``,
    then the defaults. A CI runner can so pin its device and threads in pyproject.toml."""
    table: Any = config.get("measure", {}) if config is not None else {}
    where = config.loc("measure") if config is not None else None
    if not isinstance(table, Mapping):
        raise UsageError("bad-config", "[tool.cnnscope.measure] must be a table", where)
    for key, value in table.items():
        kind = MEASURE_KEYS.get(key)
        if kind is None:
            raise UsageError(
                "bad-config",
                f"[tool.cnnscope.measure] has no key `{key}`{did_you_mean(str(key), MEASURE_KEYS)}",
                config.loc(str(key)) if config is not None else where,
                "keys: " + ", ".join(MEASURE_KEYS),
            )
        ok = (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if not ok or isinstance(value, bool):
            raise UsageError(
                "bad-config",
                f"[tool.cnnscope.measure] `{key}` must be {kind.__name__}, got {value!r}",
                config.loc(str(key)) if config is not None else where,
            )
        if kind is float and not (math.isfinite(value) and value >= 0):
            raise UsageError(
                "bad-config", f"[tool.cnnscope.measure] `{key}` must be a finite number, got {value}", where
            )

    def pick(key: str, default: Any) -> Any:
        v = given.get(key)
        return v if v is not None else table.get(key, default)

    opts = MeasureOptions(
        device=str(pick("device", "cpu")),
        dtype=dtype,
        threads=pick("threads", None),
        statistic=str(pick("latency_statistic", "median")),
        warmup=int(pick("warmup", 5)),
        iters=int(pick("iters", 10)),
        min_time_s=float(pick("min_time", 1.0)),
    )
    opts.validate()
    return opts


def needs_measurement(figures: Iterable[str]) -> bool:
    """Whether any of ``figures`` exists only when the model is run."""
    return any(f in MEASURED_UNITS for f in figures)


def measure_totals(graph: Graph, batch: int, opts: MeasureOptions) -> tuple[dict[str, Number], dict[str, Any]]:
    """Time ``graph`` once with the profiler's engine: (figures for the report's totals, how
    they were measured). Imports torch. A missing CUDA device is the runner's UsageError."""
    opts.validate()
    from cnnscope.profile.runner import profile

    result = profile(graph, opts.profile_options(batch))
    br = result.results[0]
    if result.interrupted:
        raise KeyboardInterrupt
    if br.status != "ok" or br.latency is None or br.throughput_per_s is None:
        raise UsageError(
            "measure-failed",
            f"could not time `{graph.name}` at batch {batch} on {result.device}: {br.error or br.status}",
            hint="a smaller --batch, or a device with more memory",
        )
    lat = br.latency
    stat_ms = lat.median_ms if opts.statistic == "median" else lat.p90_ms
    figures: dict[str, Number] = {
        "latency_ms": stat_ms,
        "latency_median_ms": lat.median_ms,
        "latency_p90_ms": lat.p90_ms,
        "throughput_per_s": br.throughput_per_s,
    }
    if br.peak_memory_bytes is not None:
        figures["peak_memory_bytes"] = br.peak_memory_bytes
    how = {
        "statistic": opts.statistic,
        "device": result.device,
        "device_name": result.device_name,
        "dtype": result.options.dtype,
        "threads": result.threads,
        "batch": batch,
        "timer": result.timer,
        "warmup": opts.warmup,
        "min_iters": opts.iters,
        "min_time_s": opts.min_time_s,
        "samples": lat.samples,
        "iters": lat.iters,
        "calls_per_block": lat.calls_per_block,
        "memory_kind": br.memory_kind,
        "figures": dict(figures),
    }
    return figures, how
