"""The tries of ``--find-max-batch``: one real pass at one batch size, on CUDA or on the CPU.

On the CPU a try is a forked child whose address space is capped.

The child sets ``RLIMIT_AS`` to its address-space size at the start plus the limit, so the kernel
refuses any allocation past it; it builds the module, runs the pass, and reports through a pipe
whether it fit and its peak resident growth (``ru_maxrss`` minus its resident size at the start,
which also counts already-mapped pages the try first touches). One intra-op thread: a forked
child must not use an OpenMP pool it inherited. See :mod:`cnnscope.profile.maxbatch`.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import signal
import time
from dataclasses import dataclass
from typing import Any

import torch

from cnnscope.graph import Graph
from cnnscope.profile.build import build_module
from cnnscope.profile.runner import is_oom

TRY_TIMEOUT_S = 900.0


@dataclass
class Try:
    batch: int
    status: str  # fits | oom | error
    peak_bytes: int | None = None
    predicted_bytes: int = 0
    seconds: float = 0.0
    error: str | None = None


def make_optimizer(name: str, params: Any) -> Any:
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3)
    return torch.optim.SGD(params, lr=1e-2, momentum=0.9 if name == "sgd-momentum" else 0.0)


def one_pass(
    module: Any, graph: Graph, batch: int, device: torch.device, dtype: Any, train: bool, opt_name: str
) -> None:
    """One real pass at ``batch``; raises torch's out-of-memory error when it does not fit."""
    x = torch.randn((batch, *graph.input_shape), device=device, dtype=dtype)
    if not train:
        with torch.inference_mode():
            module(x)
        return
    opt = make_optimizer(opt_name, [p for p in module.parameters() if p.requires_grad])
    try:
        out = module(x)
        out.float().sum().backward()
        opt.step()
    finally:
        opt.zero_grad(set_to_none=True)
        opt.state.clear()


def cuda_try(module: Any, graph: Graph, b: int, device: torch.device, dtype: Any, train: bool, opt: str) -> Try:
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    try:
        one_pass(module, graph, b, device, dtype, train, opt)
        torch.cuda.synchronize(device)
        return Try(b, "fits", int(torch.cuda.max_memory_allocated(device)), seconds=time.perf_counter() - t0)
    except Exception as exc:  # an OOM is an answer; anything else is reported and stops the search
        status = "oom" if is_oom(exc) else "error"
        return Try(b, status, int(torch.cuda.max_memory_allocated(device)), error=_first_line(exc))
    finally:
        module.zero_grad(set_to_none=True)
        gc.collect()
        torch.cuda.empty_cache()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# under RLIMIT_AS an allocation can also fail inside a library: oneDNN cannot make its primitive
# (its scratchpad), the C++ runtime throws bad_alloc
CAPPED_OOM = ("could not create a primitive", "bad_alloc", "cannot allocate memory", "out of memory")


def _capped_oom(exc: BaseException) -> bool:
    return is_oom(exc) or any(m in str(exc).lower() for m in CAPPED_OOM)


def _proc_kib(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def cpu_try(graph: Graph, b: int, dtype: Any, train: bool, opt: str, limit: int) -> Try:
    """One try in a forked child capped with RLIMIT_AS (see the module docstring)."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(r)
            torch.set_num_threads(1)
            _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = _proc_kib("VmSize") * 1024 + limit
            resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
            rss0 = _proc_kib("VmRSS") * 1024
            try:
                module = build_module(graph).to(dtype=dtype)
                one_pass(module, graph, b, torch.device("cpu"), dtype, train, opt)
                msg: dict[str, Any] = {"status": "fits"}
            except BaseException as exc:
                msg = {"status": "oom" if _capped_oom(exc) else "error", "error": _first_line(exc)}
            msg["peak_bytes"] = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0)
            os.write(w, json.dumps(msg).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + TRY_TIMEOUT_S
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([r], [], [], max(0.0, left))
            if not ready:  # too slow: end the try (it counts as not fitting)
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    seconds = time.perf_counter() - t0
    data = b"".join(chunks)
    if not data:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        why = f"the try's process died (signal {sig})" if sig else "the try's process exited without a result"
        return Try(b, "oom" if sig == signal.SIGKILL else "error", error=why, seconds=seconds)
    msg = json.loads(data)
    return Try(b, msg["status"], msg.get("peak_bytes"), seconds=seconds, error=msg.get("error"))
