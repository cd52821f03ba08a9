"""Memory: every layer's output tensor, the weights, and an estimate of one training step.

All figures are bytes at the chosen dtype and batch. BatchNorm's ``num_batches_tracked``
buffer is an int64 (8 bytes) whatever the dtype, as in PyTorch after ``module.to(dtype)``;
so is a tensor of indices (argmax, topk's indices, nonzero), and a mask (a comparison) is one
byte an element: each layer says its output's element type (``Layer.out_dtype``).
"""

from __future__ import annotations

from math import prod
from typing import Any

from cnnscope.analyze.base import Column, Context, Report, analyze, analyzer
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import UsageError, did_you_mean
from cnnscope.graph import INPUT, Graph
from cnnscope.layers.base import BOOL, FLOAT
from cnnscope.records import MutableRecord, mutable_record

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
INT64_BYTES = 8
_FIXED_BYTES = {BOOL: 1}  # any other element type that is not float: int64


def element_types(graph: Graph) -> dict[str, str]:
    """Every node's output element type (``float``, ``bool``, ``int64``), the input float."""
    kinds = {INPUT: FLOAT}
    for node in graph.nodes:
        kinds[node.name] = node.layer.out_dtype([kinds[i] for i in node.inputs])
    return kinds


def element_bytes(kind: str, float_bytes: int) -> int:
    """Bytes per element of ``kind``: the run's float dtype's, 1 for bool, 8 for int64."""
    return float_bytes if kind == FLOAT else _FIXED_BYTES.get(kind, INT64_BYTES)


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
    kinds = element_types(ctx.graph)
    for node in ctx.graph.nodes:
        row = report.row(node.name)
        row["activation_bytes"] = prod(ctx.shapes[node.name]) * element_bytes(kinds[node.name], size)
        activation += row["activation_bytes"]
        if node.shares is not None:  # tied weights: stored once, by the node shared
            row["param_bytes"] = row["buffer_bytes"] = 0
            continue
        pc = ctx.of(node, "params")
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
    report.declare({k: "bytes" for k in ("activation_bytes", "input_bytes", "param_bytes", "buffer_bytes")})
    report.declare({"training_bytes": "bytes", **{f"training.{k}": "bytes" for k in training}})
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


BREAKDOWN = (  # the parts of a peak, in the order they are printed: (label, key in the totals)
    ("parameters", "param_bytes"),
    ("buffers", "buffer_bytes"),
    ("gradients", "gradient_bytes"),
    ("optimizer state", "optimizer_bytes"),
    ("activations kept", "activation_bytes"),
    ("total", "total_bytes"),
)


def training_breakdown(report: Report) -> list[tuple[str, Any]]:
    """(label, bytes) lines of the training estimate, for the commands that print it."""
    t = report.totals.get("training", {})
    return [(label, t.get(key)) for label, key in BREAKDOWN]


# -- peaks and the largest batch that fits (memory --fit-memory, profile --find-max-batch) ----
#
# Both peaks are exactly ``fixed + per_sample · batch``: the weights (and, training, their
# gradients and optimizer state) do not depend on the batch, and every activation's element
# count is proportional to it. So the largest batch under a limit is ``⌊(limit − fixed) /
# per_sample⌋``, checked by analyzing that batch and the next. Training: the estimate above.
# Inference: weights + buffers + the most activation bytes alive at once when each tensor is
# freed after its last consumer (what the profiler's module does), the input included.

INFERENCE_NOTE = (
    "inference peak ({dtype}) = parameters + buffers + the largest set of activations alive at once, each "
    "tensor freed after its last consumer (the input kept throughout); no autograd state (inference mode); "
    "kernel workspaces and allocator overhead not counted"
)


def inference_parts(graph: Graph, batch: int, dtype: str) -> dict[str, int]:
    """Weights, buffers and the peak of live activations for one forward pass."""
    size = DTYPE_BYTES[dtype]
    shapes = infer_shapes(graph, batch)
    last: dict[str, int] = {}
    for k, node in enumerate(graph.nodes):
        for i in node.inputs:
            last[i] = k
    last[graph.output] = len(graph.nodes)
    last[INPUT] = len(graph.nodes)  # the caller holds the input
    kinds = element_types(graph)
    live = {INPUT: prod(shapes[INPUT]) * size}
    peak = live[INPUT]
    for k, node in enumerate(graph.nodes):
        live[node.name] = prod(shapes[node.name]) * element_bytes(kinds[node.name], size)
        peak = max(peak, sum(live.values()))
        for i in {*node.inputs, node.name}:
            if last.get(i, -1) <= k:
                live.pop(i, None)
    r = analyze(graph, ["memory"], batch=batch, dtype=dtype)
    parts = {
        "param_bytes": r.totals["param_bytes"],
        "buffer_bytes": r.totals["buffer_bytes"],
        "activation_bytes": peak,
    }
    parts["total_bytes"] = sum(parts.values())
    return parts


def training_parts(graph: Graph, batch: int, dtype: str, optimizer: str) -> dict[str, int]:
    r = analyze(graph, ["memory"], batch=batch, dtype=dtype, optimizer=optimizer)
    return dict(r.totals["training"])


def peak(graph: Graph, batch: int, dtype: str, optimizer: str, train: bool) -> dict[str, int]:
    return training_parts(graph, batch, dtype, optimizer) if train else inference_parts(graph, batch, dtype)


@mutable_record
class FitResult(MutableRecord):
    """The largest batch whose predicted peak fits a memory limit, and the peak's parts."""

    model: str
    limit_bytes: int
    dtype: str
    optimizer: str | None  # None for inference
    train: bool
    fixed_bytes: int  # what batch 0 would need
    per_sample_bytes: int
    max_batch: int  # 0: not even one sample fits
    at_max: dict[str, int] | None  # breakdown at max_batch
    next_bytes: int  # predicted peak at max_batch + 1 (over the limit)
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def fit_memory(
    graph: Graph, limit: int, dtype: str = "float32", optimizer: str = "adam", train: bool = True
) -> FitResult:
    if dtype not in DTYPE_BYTES or optimizer not in OPTIMIZER_STATES:
        raise UsageError("bad-option", f"unknown dtype `{dtype}` or optimizer `{optimizer}`")
    one = peak(graph, 1, dtype, optimizer, train)["total_bytes"]
    two = peak(graph, 2, dtype, optimizer, train)["total_bytes"]
    per = two - one
    fixed = one - per
    best = max(0, (limit - fixed) // per) if per > 0 else 0
    at = peak(graph, best, dtype, optimizer, train) if best else None
    after = peak(graph, best + 1, dtype, optimizer, train)["total_bytes"]
    # the peak is affine in the batch: the analyzer at best and best + 1 agrees with the line
    assert after == fixed + per * (best + 1), "peak memory is not affine in the batch"
    assert at is None or at["total_bytes"] <= limit < after
    note = (
        TRAINING_NOTE.format(optimizer=optimizer, dtype=dtype, states=OPTIMIZER_STATES[optimizer])
        if train
        else INFERENCE_NOTE.format(dtype=dtype)
    )
    notes = [note, f"peak = {fixed:,} B + {per:,} B × batch (exact: every activation is proportional to the batch)"]
    if not best:
        notes.append(
            "not even batch 1 fits: " + ("the fixed part alone" if fixed > limit else "one sample") + " is over"
        )
    return FitResult(graph.name, limit, dtype, optimizer if train else None, train, fixed, per, best, at, after, notes)
