"""Memory: every layer's output tensor, the weights, and an estimate of one training step.

All figures are bytes at the chosen dtype and batch. BatchNorm's ``num_batches_tracked``
buffer is an int64 (8 bytes) whatever the dtype, as in PyTorch after ``module.to(dtype)``.
"""

from __future__ import annotations

from math import prod
from typing import Any

from cnnscope.analyze.base import Column, Context, Report, analyzer
from cnnscope.errors import UsageError, did_you_mean
from cnnscope.graph import INPUT

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
INT64_BYTES = 8
# optimizer state kept per trainable parameter, in parameter-sized copies
OPTIMIZER_STATES = {"sgd": 0, "sgd-momentum": 1, "adam": 2}
DEFAULT_DTYPE = "float32"
DEFAULT_OPTIMIZER = "adam"

TRAINING_NOTE = (
    "training memory ({optimizer}, {dtype}) = parameters + buffers + gradients (trainable) + optimizer state "
    "({states}x trainable) + activations kept for backward: the input and every layer's output once (no in-place "
    "reuse, no checkpointing); gradients and state at the parameters' dtype; autograd's extra saved tensors, "
    "transient gradients and allocator overhead not counted"
)


def _option(ctx: Context, key: str, default: str, choices: dict[str, int]) -> str:
    value = str(ctx.options.get(key) or default)
    if value not in choices:
        raise UsageError(
            "bad-option", f"--{key} must be one of {', '.join(choices)}, got `{value}`{did_you_mean(value, choices)}"
        )
    return value


@analyzer(
    "memory",
    order=30,
    requires=("shapes",),
    doc="activation bytes per layer, weight bytes, and a training-step memory estimate",
)
def run(ctx: Context, report: Report) -> None:
    dtype = _option(ctx, "dtype", DEFAULT_DTYPE, DTYPE_BYTES)
    optimizer = _option(ctx, "optimizer", DEFAULT_OPTIMIZER, OPTIMIZER_STATES)
    size = DTYPE_BYTES[dtype]
    activation = 0
    param = trainable = buffer = int64_count = 0
    for node in ctx.graph.nodes:
        row = report.row(node.name)
        row["activation_bytes"] = prod(ctx.shapes[node.name]) * size
        activation += row["activation_bytes"]
        if node.shares is not None:  # tied weights: stored once, by the node shared
            row["param_bytes"] = row["buffer_bytes"] = 0
            continue
        pc = node.layer.params(ctx.ins(node))
        row["param_bytes"] = pc.total * size
        row["buffer_bytes"] = (pc.buffers - pc.int64_buffers) * size + pc.int64_buffers * INT64_BYTES
        param += row["param_bytes"]
        buffer += row["buffer_bytes"]
        trainable += pc.trainable * size
        int64_count += pc.int64_buffers
    input_bytes = prod(ctx.shapes[INPUT]) * size
    states = OPTIMIZER_STATES[optimizer]
    training: dict[str, int] = {
        "param_bytes": param,
        "buffer_bytes": buffer,
        "gradient_bytes": trainable,
        "optimizer_bytes": states * trainable,
        "activation_bytes": input_bytes + activation,
    }
    training["total_bytes"] = sum(training.values())
    report.totals.update(
        activation_bytes=activation,
        input_bytes=input_bytes,
        param_bytes=param,
        buffer_bytes=buffer,
        training_bytes=training["total_bytes"],
        training=training,
    )
    report.meta.update(dtype=dtype, optimizer=optimizer)
    report.notes.append(TRAINING_NOTE.format(optimizer=optimizer, dtype=dtype, states=states))
    if int64_count:
        report.notes.append(
            f"buffer bytes: BatchNorm's num_batches_tracked is int64 (8 bytes) at any dtype; running statistics "
            f"are at {dtype}"
        )
    cols: list[Column] = [Column("activation_bytes", "activations", "bytes")]
    if ctx.options.get("detail"):
        cols += [Column("param_bytes", "param bytes", "bytes"), Column("buffer_bytes", "buffer bytes", "bytes")]
    report.add_columns(*cols)
    report.add_figures(
        Column("param_bytes", f"weights ({dtype})", "bytes"),
        Column("training_bytes", f"training step estimate ({optimizer}, {dtype}; see note)", "bytes"),
    )


def training_breakdown(report: Report) -> list[tuple[str, Any]]:
    """(label, bytes) lines of the training estimate, for the commands that print it."""
    t = report.totals.get("training", {})
    labels = [
        ("parameters", "param_bytes"),
        ("buffers", "buffer_bytes"),
        ("gradients", "gradient_bytes"),
        ("optimizer state", "optimizer_bytes"),
        ("activations kept", "activation_bytes"),
        ("total", "total_bytes"),
    ]
    return [(label, t.get(key)) for label, key in labels]
