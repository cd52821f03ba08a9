"""How to time a model: the profiler's options (torch-free, so that a caller can make them
without loading torch; ``cnnscope.profile.runner`` checks what needs torch when it runs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProfileOptions:
    """How `profile` times a model: device, batch sizes, dtype, threads, warm-up and timed blocks."""

    device: str = "cpu"
    batches: tuple[int, ...] = (1,)
    dtype: str = "float32"
    channels_last: bool = False
    compile: bool = False
    threads: int | None = None
    warmup: int = 5
    iters: int = 10  # minimum number of timed blocks
    min_time_s: float = 1.0  # minimum total time of the timed blocks
    per_layer: bool = False
    peak_tflops: float | None = None
    peak_gbps: float | None = None
