"""The largest batch whose predicted peak memory fits a budget (``memory --fit-memory``).

Both peaks are exactly ``fixed + per_sample · batch``: the weights (and, training, their
gradients and optimizer state) do not depend on the batch, and every activation's element
count is proportional to it. So the answer is ``⌊(limit − fixed) / per_sample⌋``, and it is
checked by analyzing at that batch and the next.

- **Training** peak: the memory analyzer's one-step estimate (docs/conventions.md, "Memory"):
  parameters + buffers + gradients + optimizer state + the input and every layer's output
  kept for the backward pass.
- **Inference** peak: parameters + buffers + the most bytes of activations alive at once
  when each tensor is freed after its last use (what the profiler's module does), the input
  included.

The arithmetic lives with the memory model (:mod:`cnnscope.analyze.memory`, so that the
profiler's ``--find-max-batch`` can start from it); this module adds the budget parsing.
Nothing here imports torch.
"""

from __future__ import annotations

from cnnscope.analyze.memory import (
    BREAKDOWN,
    INFERENCE_NOTE,
    FitResult,
    fit_memory,
    inference_parts,
    peak,
    training_parts,
)
from cnnscope.errors import UsageError

__all__ = [
    "BREAKDOWN",
    "INFERENCE_NOTE",
    "FitResult",
    "fit_memory",
    "inference_parts",
    "parse_bytes",
    "peak",
    "training_parts",
]


def parse_bytes(text: str, option: str = "--fit-memory") -> int:
    """``24GiB`` / ``24GB`` / ``512MiB`` -> bytes; a number without a byte unit is an error."""
    from cnnscope.gate.quantity import is_bytes_text, parse_quantity

    if not is_bytes_text(text):
        raise UsageError(
            "bad-option",
            f"{option} needs a byte unit, got `{text}`",
            hint=f"e.g. {option} 24GiB (binary) or {option} 24GB (decimal)",
        )
    value = parse_quantity(text, option)
    if not isinstance(value, int) or value < 1:
        raise UsageError("bad-option", f"{option} must be a whole, positive number of bytes, got `{text}`")
    return value
