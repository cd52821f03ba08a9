"""The arithmetic the merges and ``scalar`` leave out, as ``binary``: floor and truncating
division (``x // 4``, ``torch.div(x, 4, rounding_mode="floor")``), ``remainder`` (``x % 4``),
``fmod``, elementwise ``maximum`` / ``minimum``; and the rest of torch's elementwise math
(``log2``, ``tan``...) as ``unary``."""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, rule, try_make, try_map
from cnnscope.frontends.torch.rules.compare import number, positions

_OPS = {
    "remainder": "remainder", "mod": "remainder", "fmod": "fmod", "floor_divide": "floordiv",
    "floordiv": "floordiv", "maximum": "maximum", "minimum": "minimum",
}  # fmt: skip


def binary(call: Call, op: str) -> Mapped | None:
    """``x <op> y``, ``y`` a number or a tensor (data, or a constant entering as a node)."""
    x: Any = call.args.get("input")
    y: Any = call.args.get("other")
    if not call.is_tensor(x):
        return None
    if number(y):
        at, layer = positions(call, [x]), try_make("binary", op=op, value=float(y))
    elif call.is_tensor(y):
        at, layer = positions(call, [x, y]), try_make("binary", op=op)
    else:
        return None
    return None if at is None or layer is None else Mapped([layer], inputs=at)


@rule(*_OPS, sig=("input", "other"))
def arith(call: Call) -> Mapped | None:
    return binary(call, _OPS[call.op])


def rounded_div(call: Call) -> Mapped | None:
    """``torch.div(x, y, rounding_mode="floor" | "trunc")`` (the ``div`` rule hands it here)."""
    mode = call.args.get("rounding_mode")
    if mode not in ("floor", "trunc"):
        return None
    return binary(call, f"{mode}div")


_UNARY = ("log2", "log10", "exp2", "tan", "atan", "asin", "acos", "sinh", "cosh", "frac")


@rule(*_UNARY, sig=("input",))
def unary_math(call: Call) -> Mapped | None:
    if len(call.data) != 1 or not call.is_data(call.args.get("input")):
        return None
    return try_map("unary", op=call.op)
