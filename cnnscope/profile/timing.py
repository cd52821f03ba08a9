"""Timed blocks of calls: the clock the profiler reads (imports torch).

After warm-up, blocks of calls are timed until both a minimum number of blocks and a minimum
time are reached (``torch.utils.benchmark``'s blocked-autorange idea: a block is long enough
that the clock's own cost vanishes), with the cyclic garbage collector paused as ``timeit``
pauses it (a collection inside a block is not the model's time; bench/profile_vs_timer.py
holds the median to Timer's). On CUDA each block is bracketed by CUDA events and read after
synchronizing on the end event; the host clock only decides when to stop.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from cnnscope.profile.perlayer import new_event

BLOCK_TARGET_S = 1e-3  # a timed block lasts at least this long


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU)."""
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
            sync(device)
            timing.interrupted = True
    finally:
        if collecting:
            gc.enable()
    return timing
