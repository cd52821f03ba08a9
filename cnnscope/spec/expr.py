"""Arithmetic on block arguments: ``"${4 * channels}"``, ``"${2 if i == 0 else 1}"``.

A string value that is exactly ``${...}`` is evaluated; the result keeps its type (int,
float, bool, list). In a longer string each ``${...}`` is replaced by its value as text
(``name: "block-${i + 1}"``). Only arithmetic, comparisons, boolean logic, conditional expressions,
list literals and the functions ``min``, ``max``, ``abs``, ``int``, ``round`` are allowed;
names are the block's arguments and ``i`` (the repeat index). Nothing else of Python is
reachable, so a spec cannot run code.
"""

from __future__ import annotations

import ast
import functools
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from cnnscope.errors import Location, SpecError, did_you_mean

_EXPR = re.compile(r"^\$\{(.*)\}$", re.DOTALL)  # the whole value is one ${...}
_PART = re.compile(r"\$\{([^{}]*)\}")  # one ${...} among text

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FUNCS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "round": round,
}
_MAX_MAGNITUDE = 10**15
_MAX_REPEAT = 10_000  # longest string or list a repetition may build


def is_expr(value: Any) -> bool:
    """The whole string is one ``${...}``: its value keeps its type (int, bool, list...)."""
    if not isinstance(value, str):
        return False
    m = _EXPR.match(value.strip())
    return m is not None and "${" not in m.group(1)


def evaluate(value: str, scope: Mapping[str, Any], loc: Location | None) -> Any:
    """Evaluate ``${...}`` in ``scope``; raise a located ``SpecError`` on any problem."""
    m = _EXPR.match(value.strip())
    assert m is not None
    src = m.group(1).strip()
    tree = _parse(src)
    if isinstance(tree, SyntaxError):
        raise SpecError("bad-expression", f"cannot parse `{src}`: {tree.msg}", loc)
    try:
        return _eval(tree.body, scope, src, loc)
    except SpecError:
        raise
    except ZeroDivisionError:
        raise SpecError("bad-expression", f"`{src}` divides by zero", loc) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise SpecError("bad-expression", f"`{src}`: {exc}", loc) from None


@functools.lru_cache(maxsize=4096)
def _parse(src: str) -> ast.Expression | SyntaxError:
    """Parsed once per distinct expression: a spec repeats the same few many times."""
    try:
        return ast.parse(src, mode="eval")
    except SyntaxError as exc:
        return exc


def _eval(node: ast.AST, scope: Mapping[str, Any], src: str, loc: Location | None) -> Any:
    def ev(n: ast.AST) -> Any:
        return _eval(n, scope, src, loc)

    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        if node.id not in scope:
            raise SpecError(
                "unknown-name",
                f"`{node.id}` is not defined in `{src}`{did_you_mean(node.id, scope)}",
                loc,
                "names in ${...} are the block's arguments and `i`, the repeat index",
            )
        return scope[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 64:
            raise SpecError("bad-expression", f"exponent {right} is too large in `{src}`", loc)
        if isinstance(node.op, ast.Mult) and isinstance(left, (str, list)) != isinstance(right, (str, list)):
            seq, times = (left, right) if isinstance(left, (str, list)) else (right, left)
            if isinstance(times, int) and len(seq) * times > _MAX_REPEAT:  # "x" * 10**9 would eat the memory
                raise SpecError("bad-expression", f"`{src}` repeats a sequence {times} times: too long", loc)
        out = _BIN[type(node.op)](left, right)
        if isinstance(out, complex):
            raise SpecError("bad-expression", f"`{src}` gives a complex number", loc)
        if isinstance(out, (int, float)) and abs(out) > _MAX_MAGNITUDE:
            raise SpecError("bad-expression", f"`{src}` gives {out}, which is out of range", loc)
        return out
    if isinstance(node, ast.UnaryOp):
        operand = ev(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return +operand
        if isinstance(node.op, ast.Not):
            return not operand
    if isinstance(node, ast.BoolOp):
        values = [ev(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return all(values)
        return any(values)
    if isinstance(node, ast.Compare) and all(type(o) in _CMP for o in node.ops):
        left = ev(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = ev(comp)
            if not _CMP[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return ev(node.body) if ev(node.test) else ev(node.orelse)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [ev(e) for e in node.elts]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        return _FUNCS[node.func.id](*[ev(a) for a in node.args])
    raise SpecError(
        "bad-expression",
        f"`{ast.unparse(node)}` is not allowed in `{src}`",
        loc,
        "use arithmetic (+ - * / // % **), comparisons, and/or/not, `a if c else b`, min/max/abs/int/round",
    )


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def substitute(value: Any, scope: Mapping[str, Any], loc: Location | None) -> Any:
    """Evaluate ``value`` if it is an expression; lists are substituted item by item."""
    if isinstance(value, str) and "${" in value:
        if is_expr(value):
            return evaluate(value, scope, loc)
        # text around or between expressions: each becomes text (`block-${i + 1}` → `block-2`)
        out = _PART.sub(lambda m: _as_text(evaluate(m.group(0), scope, loc)), value)
        if "${" in _PART.sub("", value):
            raise SpecError(
                "bad-expression",
                f"cannot read the `${{...}}` in `{value}`",
                loc,
                "inside text, an expression is `${...}` without braces of its own",
            )
        return out
    if isinstance(value, list) and any(isinstance(v, (str, list)) for v in value):
        item_loc = getattr(value, "item_loc", None)
        return [substitute(v, scope, item_loc(i) if item_loc else loc) for i, v in enumerate(value)]
    return value
