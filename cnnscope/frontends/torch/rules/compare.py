"""Comparisons (``x > 0.05``, ``torch.eq``), logic on masks (``&``, ``|``, ``~``,
``torch.logical_*``), ``torch.where`` (three arguments: a ``where``; one: the indices of a mask,
a ``nonzero`` per dim) and ``masked_fill``."""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_make

_CANON = {
    "eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge", "not_equal": "ne", "greater": "gt",
    "greater_equal": "ge", "less": "lt", "less_equal": "le",
}  # fmt: skip


def number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def positions(call: Call, tensors: list[Any]) -> list[int] | None:
    """Where each tensor is among the call's data inputs (None when one is not data yet: the
    builder then maps the call again with constants and parameters as inputs)."""
    out = []
    for t in tensors:
        k = next((i for i, d in enumerate(call.data) if d is t), None)
        if k is None:
            return None
        out.append(k)
    return out


@rule(*_CANON, sig=("input", "other"))
def compare(call: Call) -> Mapped | None:
    x: Any = call.args.get("input")
    y: Any = call.args.get("other")
    op = _CANON[call.op]
    if call.is_tensor(x) and number(y):
        at = positions(call, [x])
        layer = try_make("compare", op=op, value=float(y))
    elif call.is_tensor(x) and call.is_tensor(y):
        at = positions(call, [x, y])
        layer = try_make("compare", op=op)
    else:
        return None
    return None if at is None or layer is None else Mapped([layer], inputs=at)


_LOGIC = {
    "and": "and", "or": "or", "xor": "xor", "invert": "not", "logical_and": "and", "logical_or": "or",
    "logical_xor": "xor", "logical_not": "not", "bitwise_and": "and", "bitwise_or": "or", "bitwise_xor": "xor",
    "bitwise_not": "not",
}  # fmt: skip


@rule(*_LOGIC, sig=("input", "other"))
def logical(call: Call) -> Mapped | None:
    op = _LOGIC[call.op]
    ts: list[Any] = [call.args.get("input")] + ([] if op == "not" else [call.args.get("other")])
    if not all(call.is_tensor(t) for t in ts):
        return None
    if not call.op.startswith("logical") and any(str(t.dtype) != "torch.bool" for t in ts):
        return None  # & | ^ ~ on integers are bitwise arithmetic, not logic
    at = positions(call, ts)
    return None if at is None else Mapped([make("logical", op=op)], inputs=at)


@rule("where", sig=("condition", "input", "other"))
def where(call: Call) -> Mapped | None:
    cond = call.args.get("condition")
    if not call.is_tensor(cond):
        return None
    if "input" not in call.args and "other" not in call.args:  # torch.where(mask): indices per dim
        at = positions(call, [cond])
        n = call.outs[0][0] if call.outs else 0
        layers = [try_make("nonzero", length=n, column=k) for k in range(len(call.outs))]
        if at is None or any(layer is None for layer in layers):
            return None
        return Mapped([layer for layer in layers if layer is not None], inputs=at, per_output=True)
    return _where(call, cond, call.args.get("input"), call.args.get("other"))


def _where(call: Call, cond: Any, a: Any, b: Any) -> Mapped | None:
    tensors, raw = [cond], {}
    for key, v in (("x", a), ("y", b)):
        if call.is_tensor(v):
            tensors.append(v)
        elif number(v) or isinstance(v, bool):
            raw[key] = float(v)
        else:
            return None
    at = positions(call, tensors)
    layer = try_make("where", **raw)
    return None if at is None or layer is None else Mapped([layer], inputs=at)


@rule("masked_fill", sig=("input", "mask", "value"))
def masked_fill(call: Call) -> Mapped | None:
    x, mask = call.args.get("input"), call.args.get("mask")
    if not (call.is_tensor(x) and call.is_tensor(mask)):
        return None
    return _where(call, mask, call.args.get("value"), x)
