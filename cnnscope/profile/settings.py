"""The profiler's options read against this torch and this machine: ``--dtype`` by its names,
``--device`` to a device that exists here, the counts and limits in range (imports torch; a
wrong value is a usage error, exit 2)."""

from __future__ import annotations

import re

import torch

from cnnscope.errors import UsageError
from cnnscope.profile.options import ProfileOptions

DTYPES = ("float32", "float16", "bfloat16")
DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}


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
