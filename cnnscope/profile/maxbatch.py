"""`profile --find-max-batch`: the largest batch that really runs, by bisection of real passes.

Each try is one real pass at a batch size — a forward pass under ``torch.inference_mode()``,
or with ``train`` a forward, backward and optimizer step — and it *fits* when it raises no
out-of-memory error. The search starts at the analytic prediction (:func:`cnnscope.analyze.memory.fit_memory`),
doubles until a try fails (or halves until one fits), then bisects until the bracket is within
``resolution`` of its low end. Every out-of-memory try is reported.

- **CUDA**: one module on the device; between tries the gradients and optimizer are dropped,
  ``gc.collect()`` and ``torch.cuda.empty_cache()`` run and the peak counter is reset. With
  ``memory_limit`` the caching allocator is capped with ``set_per_process_memory_fraction``;
  the peak is ``torch.cuda.max_memory_allocated`` (weights included).
- **CPU**: torch's CPU allocator reports no peak and a real out-of-memory would hit the whole
  machine, so every try runs in a forked child whose address space is capped with
  ``RLIMIT_AS`` at its size when the try starts plus ``memory_limit``: the kernel refuses any
  allocation past the limit (nothing is ever allocated beyond it), torch raises its "can't
  allocate memory" error, and that is the out-of-memory. The child builds its own module (the
  weights count against the limit, as in the prediction), runs one intra-op thread (a fork
  must not inherit an OpenMP pool), and reports its peak as ``ru_maxrss`` minus its resident
  size at the start. Address space is at least resident memory, so the cap is conservative.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from cnnscope.errors import UsageError
from cnnscope.graph import Graph
from cnnscope.profile.build import build_module
from cnnscope.profile.runner import normalize_dtype, resolve_device
from cnnscope.profile.tries import Try, cpu_try, cuda_try, make_optimizer


@dataclass
class MaxBatchResult:
    model: str
    device: str
    dtype: str
    train: bool
    optimizer: str | None
    limit_bytes: int
    limit_source: str
    predicted_max: int
    measured_max: int
    next_failing: int | None  # the smallest batch seen not to fit
    tries: list[Try] = field(default_factory=list)
    memory_kind: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.measured_max / self.predicted_max if self.predicted_max else None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "tries"}
        out["ratio"] = self.ratio
        out["tries"] = [t.__dict__ for t in self.tries]
        return out


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo (physical pages as a fallback)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def find_max_batch(
    graph: Graph,
    device: str = "cpu",
    dtype: str = "float32",
    train: bool = False,
    optimizer: str = "adam",
    memory_limit: int | None = None,
    resolution: float = 0.01,
    max_batch: int = 1 << 20,
    progress: Callable[[str], None] | None = None,
) -> MaxBatchResult:
    from cnnscope.analyze.memory import fit_memory, peak

    dtype = normalize_dtype(dtype)
    dev = resolve_device(device)
    tdtype = getattr(torch, dtype)
    module: Any = None
    if dev.type == "cuda":
        total = torch.cuda.get_device_properties(dev).total_memory
        if memory_limit is not None:
            if memory_limit > total:
                raise UsageError(
                    "bad-option", f"--memory-limit {memory_limit:,} B is more than the device's {total:,} B"
                )
            torch.cuda.set_per_process_memory_fraction(memory_limit / total, dev)
        limit = memory_limit or total
        source = "--memory-limit (allocator capped)" if memory_limit else "the device's total memory"
        kind = "CUDA allocator peak (torch.cuda.max_memory_allocated, weights included)"
        module = build_module(graph).to(device=dev, dtype=tdtype)
        if train:
            module.train()
    else:
        if memory_limit is None:
            raise UsageError(
                "bad-option",
                "--find-max-batch on the CPU needs --memory-limit (a real out-of-memory would hit the whole machine)",
                hint="e.g. --memory-limit 2GiB",
            )
        avail = available_bytes()
        if memory_limit > avail:
            raise UsageError(
                "bad-option", f"--memory-limit {memory_limit:,} B is more than this machine has available ({avail:,} B)"
            )
        limit, source = memory_limit, "--memory-limit (RLIMIT_AS in a forked child per try)"
        if train:  # import what a step needs (torch.optim reads source files) before any cap
            w = torch.nn.Parameter(torch.zeros(1))
            (w * 2).sum().backward()  # type: ignore[no-untyped-call]
            make_optimizer(optimizer, [w]).step()
        kind = "peak resident growth of the try's process (ru_maxrss), weights included"
    pred = fit_memory(graph, limit, dtype, optimizer, train)
    res = MaxBatchResult(
        graph.name,
        str(dev),
        dtype,
        train,
        optimizer if train else None,
        limit,
        source,
        pred.max_batch,
        0,
        None,
        memory_kind=kind,
    )
    tried: dict[int, bool] = {}

    def fits(b: int) -> bool:
        if b in tried:
            return tried[b]
        if progress is not None:
            progress(f"trying batch {b}")
        if dev.type == "cuda":
            t = cuda_try(module, graph, b, dev, tdtype, train, optimizer)
        else:
            t = cpu_try(graph, b, tdtype, train, optimizer, limit)
        t.predicted_bytes = peak(graph, b, dtype, optimizer, train)["total_bytes"]
        res.tries.append(t)
        if t.status == "error":
            raise UsageError("try-failed", f"batch {b} failed with an error that is not out-of-memory: {t.error}")
        tried[b] = t.status == "fits"
        return tried[b]

    lo, hi = 0, None  # lo fits (0: trivially), hi does not
    b = max(1, pred.max_batch)
    if fits(b):
        lo = b
        while hi is None and lo < max_batch:
            nb = min(max_batch, lo * 2)
            if fits(nb):
                lo = nb
            else:
                hi = nb
    else:
        hi = b
        while hi > 1 and lo == 0:
            nb = hi // 2
            if fits(nb):
                lo = nb
            else:
                hi = nb
    while hi is not None and hi - lo > max(1, int(lo * resolution)):
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    res.measured_max, res.next_failing = lo, hi
    ooms = [t.batch for t in res.tries if t.status == "oom"]
    res.notes.append(f"{len(res.tries)} tries; out of memory at batch {', '.join(map(str, ooms)) or 'none'}")
    if hi is not None and hi - lo > 1:
        res.notes.append(f"bisection stopped within {resolution:.0%}: the largest batch is in [{lo}, {hi})")
    res.notes += pred.notes
    return res
