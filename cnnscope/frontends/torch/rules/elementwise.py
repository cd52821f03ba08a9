"""Arithmetic: ``+ - * /`` and ``pow`` between tensors (torch's broadcasting), with a Python
number (a ``scalar`` layer), and ``x * self.gamma`` as a ``layerscale`` when γ has the shape
a layerscale builds. A parameter operand of any other shape enters as a ``parameter`` node."""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_make, try_map

_SIG = ("input", "other")


def _num(v: Any) -> float:
    return float(v)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _binary(call: Call, type_name: str, reverse: str) -> Mapped | None:
    a, b = call.args.get("input"), call.args.get("other")
    if call.op in ("add", "sub") and call.args.get("alpha") not in (None, 1):
        return None
    if call.is_data(a) and call.is_data(b):
        if type_name == "add":
            # strict only where both sides follow the batch with one shape (a residual); a
            # position embedding's fixed leading 1 broadcasts at any other batch
            same = call.ins[0] == call.ins[1] and call.follows_batch(0) and call.follows_batch(1)
            return Mapped([make("add") if same else make("add", broadcast=True)])
        return Mapped([make(type_name)])
    if call.is_data(a) and _number(b):
        return try_map("scalar", op=type_name, value=_num(b))
    if call.is_data(b) and _number(a):
        op = type_name if type_name in ("add", "mul") else reverse
        return try_map("scalar", op=op, value=_num(a))
    return None


@rule("add", sig=_SIG)
def add(call: Call) -> Mapped | None:
    return _binary(call, "add", "add")


@rule("sub", sig=_SIG)
def sub(call: Call) -> Mapped | None:
    return _binary(call, "sub", "rsub")


@rule("rsub", "rdiv", sig=_SIG)
def reflected(call: Call) -> Mapped | None:
    """``2.0 - x``, ``2.0 / x``: torch calls the reflected op on x, the number as ``other``."""
    a, b = call.args.get("input"), call.args.get("other")
    if call.is_data(a) and _number(b):
        return try_map("scalar", op=call.op, value=_num(b))
    return None


@rule("div", sig=_SIG)
def div(call: Call) -> Mapped | None:
    if call.args.get("rounding_mode") is not None:
        from cnnscope.frontends.torch.rules.arith import rounded_div

        return rounded_div(call)  # floor / trunc division: a `binary` layer
    return _binary(call, "div", "rdiv")


@rule("pow", sig=("input", "exponent"))
def pow_(call: Call) -> Mapped | None:
    e = call.args.get("exponent")
    if call.is_data(call.args.get("input")) and _number(e):
        return try_map("scalar", op="pow", value=_num(e))
    return None


@rule("neg", sig=("input",))
def neg(call: Call) -> Mapped | None:
    return try_map("scalar", op="mul", value=-1.0)


@rule("mul", sig=_SIG)
def mul(call: Call) -> Mapped | None:
    scale = _layer_scale(call)
    if scale is not None:
        return scale
    return _binary(call, "mul", "mul")


def _layer_scale(call: Call) -> Mapped | None:
    """``x * self.gamma`` (either order, or ``torch.mul``) as a ``layerscale``, the parameter
    counted on it: when γ has exactly the shape a layerscale would build, ``(C, 1, ..., 1)``
    with C the size of one dim after the batch (``(C, 1, 1)`` channels first, ``(C,)`` channels
    last). Other shapes, even ones that broadcast the same way, enter as parameter nodes."""
    if len(call.data) != 1 or len(call.params) != 1:
        return None
    p = next(iter(call.params.values()))
    rank = len(call.ins[0])
    d = rank - p.dim()
    if p.dim() < 1 or d < 1 or int(p.shape[0]) != call.ins[0][d] or any(int(k) != 1 for k in p.shape[1:]):
        return None
    layer = make("layerscale", dim=d if d == 1 else d - rank, trainable=bool(p.requires_grad))
    return Mapped([layer], params=[p])


_UNARY = ("exp", "log", "sqrt", "rsqrt", "abs", "sin", "cos", "erf", "reciprocal", "square", "sign", "floor", "ceil",
          "round", "trunc", "log1p", "expm1")  # fmt: skip


@rule(*_UNARY, sig=("input",))
def unary(call: Call) -> Mapped | None:
    if len(call.data) != 1 or (call.op == "round" and call.args.get("decimals")):
        return None
    return try_map("unary", op=call.op)


@rule("clamp", "clip", "clamp_min", "clamp_max", sig=("input", "min", "max"))
def clamp(call: Call) -> Mapped | None:
    """Bounds that are numbers are fields (an infinite one is no bound: a clamp by ±inf alone
    changes nothing, an ``identity``); tensor bounds (a buffer of ±inf as Gemma-4's clippable
    linear holds, a per-channel limit) are further inputs, broadcast against x."""
    b = call.args
    x, lo, hi = b.get("input"), b.get("min"), b.get("max")
    if call.op == "clamp_max":
        lo, hi = None, lo
    if not call.is_data(x):
        return None
    bounds = [v for v in (lo, hi) if call.is_tensor(v)]
    if any(not call.is_data(v) for v in bounds):
        return None  # a constant or parameter bound: mapped again once it is a node
    if any(v is not None and not call.is_tensor(v) and not _number(v) for v in (lo, hi)):
        return None
    which = {(False, False): "none", (True, False): "min", (False, True): "max", (True, True): "both"}
    raw = {
        "min": None if lo is None or call.is_tensor(lo) or _num(lo) == float("-inf") else _num(lo),
        "max": None if hi is None or call.is_tensor(hi) or _num(hi) == float("inf") else _num(hi),
        "from_inputs": which[(call.is_tensor(lo), call.is_tensor(hi))],
    }
    if raw["min"] is None and raw["max"] is None and raw["from_inputs"] == "none":
        return Mapped([make("identity")], inputs=[0]) if lo is not None or hi is not None else None
    layer = try_make("clamp", **raw)
    if layer is None:
        return None
    inputs = [next(k for k, t in enumerate(call.data) if t is v) for v in (x, *bounds)]
    return Mapped([layer], inputs=inputs)


@rule("addcmul", "addcdiv", sig=("input", "tensor1", "tensor2", "value"))
def addcmul(call: Call) -> Mapped | None:
    """``x + value · a · b`` (``/`` for addcdiv): ConvNeXt-v2's global response norm."""
    b = call.args
    ts = [b.get(k) for k in ("input", "tensor1", "tensor2")]
    if any(not call.is_tensor(t) for t in ts):
        return None
    if any(not call.is_data(t) for t in ts):
        return None  # a parameter or constant operand: mapped again once it is a node
    value = b.get("value", 1)
    if not _number(value):
        return None
    layer = try_make(call.op, value=_num(value))
    if layer is None:
        return None
    return Mapped([layer], inputs=[next(k for k, t in enumerate(call.data) if t is v) for v in ts])
