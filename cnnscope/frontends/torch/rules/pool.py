"""Pooling: ``F.max_pool*``, ``F.avg_pool*``, ``F.adaptive_*_pool*``, and reductions (``mean``,
``sum``, ``amax``, ``amin``) — a mean over every spatial dim is a global average pool."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, dims_of, make, rule, try_map

_MAX = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVG = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")


def _fields(call: Call, names: tuple[str, ...]) -> dict[str, object]:
    return {k: call.args[k] for k in names[1:] if call.args.get(k) is not None}


@rule("max_pool1d", "max_pool2d", "max_pool3d", sig=_MAX)
def max_pool(call: Call) -> Mapped | None:
    raw = _fields(call, _MAX)
    if raw.pop("return_indices", False):
        return None
    if not raw.get("stride"):
        raw.pop("stride", None)
    return Mapped([make(call.op.replace("_", ""), **raw)])


@rule("avg_pool1d", "avg_pool2d", "avg_pool3d", sig=_AVG)
def avg_pool(call: Call) -> Mapped | None:
    raw = _fields(call, _AVG)
    if not raw.get("stride"):
        raw.pop("stride", None)
    return Mapped([make(call.op.replace("_", ""), **raw)])


@rule(
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    sig=("input", "output_size", "return_indices"),
)
def adaptive(call: Call) -> Mapped | None:
    if call.args.get("return_indices"):
        return None
    return Mapped([make(call.op.replace("_", ""), output_size=call.args["output_size"])])


@rule("mean", "sum", "amax", "amin", sig=("input", "dim", "keepdim"))
def reduce(call: Call) -> Mapped | None:
    b = call.args
    if b.get("dim") is None or b.get("dtype") is not None or not isinstance(b.get("dim"), (int, list, tuple)):
        return None
    rank = call.rank
    dims = sorted(set(dims_of(b["dim"], rank)))
    keep = bool(b.get("keepdim", False))
    if call.op == "mean" and rank >= 3 and dims == list(range(2, rank)):
        pool = make(f"adaptiveavgpool{rank - 2}d", output_size=1)
        return Mapped([pool] if keep else [pool, make("flatten")])
    return try_map("reduce", op=call.op, dims=dims, keepdim=keep)


@rule("norm", sig=("input", "p", "dim", "keepdim"))
def norm(call: Call) -> Mapped | None:
    """``torch.norm`` / ``x.norm(p, dim)``: a vector norm (``fro`` is the 2-norm of the values)."""
    p = call.args.get("p", "fro")
    if p in (None, "fro"):
        p = 2.0
    return _vector_norm(call, p)


@rule("linalg_vector_norm", sig=("input", "ord", "dim", "keepdim"))
def vector_norm(call: Call) -> Mapped | None:
    return _vector_norm(call, call.args.get("ord", 2.0))


def _vector_norm(call: Call, order: object) -> Mapped | None:
    b = call.args
    dim = b.get("dim")
    if (
        len(call.data) != 1
        or b.get("dtype") is not None
        or b.get("out") is not None
        or isinstance(order, bool)
        or not isinstance(order, (int, float))
        or not (dim is None or isinstance(dim, (int, list, tuple)))
    ):
        return None
    dims = None if dim is None else [int(d) for d in (dim if isinstance(dim, (list, tuple)) else [dim])]
    return try_map("vectornorm", ord=float(order), dims=dims, keepdim=bool(b.get("keepdim", False)))
