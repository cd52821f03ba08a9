"""Arithmetic on block arguments: ``"${4 * channels}"``, ``"${2 if i == 0 else 1}"``.

A string value that is exactly ``${...}`` is evaluated; the result keeps its type (int,
float, bool, list). In a longer string each ``${...}`` is replaced by its value as text
(``name: "block-${i + 1}"``). Only arithmetic, comparisons, boolean logic, conditional expressions,
list literals and the functions ``min``, ``max``, ``abs``, ``int``, ``round`` are allowed;
names are the block's arguments and ``i`` (the repeat index). Nothing else of Python is
reachable, so a spec cannot run code.

Every operation is bounded before it runs, so no expression can hang or eat the memory:
numbers stay within ±10^15 (``int(1e300)`` is refused), a string or list (counting nested
items) holds at most 10,000 items, an expression is at most 2,000 characters and 50
levels deep, ``**`` takes an exponent of at most 64, ``round`` at most 15 digits either
way, and ``%`` is the remainder of numbers only (no string formatting).
"""

from __future__ import annotations

import ast
import functools
import math
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
_MAX_REPEAT = 10_000  # most items (characters, nested list items) a string or list may hold
_MAX_SOURCE = 2_000  # characters of one expression
_MAX_DEPTH = 50  # nesting of one expression
_MAX_ROUND = 15  # |ndigits| of round()


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
    if len(src) > _MAX_SOURCE:
        raise SpecError(
            "bad-expression", f"an expression of {len(src):,} characters is too long (at most {_MAX_SOURCE:,})", loc
        )
    tree = _parse(src)
    if isinstance(tree, str):
        raise SpecError("bad-expression", f"cannot parse `{src}`: {tree}", loc)
    try:
        return _check(_eval(tree.body, scope, src, loc, 0), src, loc)
    except SpecError:
        raise
    except ZeroDivisionError:
        raise SpecError("bad-expression", f"`{src}` divides by zero", loc) from None
    except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
        raise SpecError("bad-expression", f"`{src}`: {exc}", loc) from None
    except (RecursionError, MemoryError):
        raise SpecError("bad-expression", f"`{src}` is too complex to evaluate", loc) from None


@functools.lru_cache(maxsize=4096)
def _parse(src: str) -> ast.Expression | str:
    """Parsed once per distinct expression: a spec repeats the same few many times. A
    problem is returned as its message."""
    try:
        return ast.parse(src, mode="eval")
    except SyntaxError as exc:
        return str(exc.msg)
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:  # a 5,000-digit literal...
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _size(v: Any, budget: int = _MAX_REPEAT + 1) -> int:
    """Items in ``v`` (characters of a string, items of nested lists), counted up to ``budget``."""
    if isinstance(v, str):
        return len(v)
    if not isinstance(v, list):
        return 1
    n = len(v)
    for x in v:
        if n > budget:
            break
        if isinstance(x, (list, str)):
            n += _size(x, budget - n)
    return n


def _check(v: Any, src: str, loc: Location | None) -> Any:
    """A value within bounds, else a located SpecError."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        if not -_MAX_MAGNITUDE <= v <= _MAX_MAGNITUDE:
            raise SpecError("bad-expression", f"`{src}` gives a number past ±10^15, which is out of range", loc)
    elif isinstance(v, float):
        if not (v == v and abs(v) <= _MAX_MAGNITUDE):
            raise SpecError("bad-expression", f"`{src}` gives {v!r}, which is out of range (±10^15)", loc)
    elif isinstance(v, (str, list)):
        if _size(v) > _MAX_REPEAT:
            raise SpecError("bad-expression", f"`{src}` builds a value of more than {_MAX_REPEAT:,} items", loc)
    elif isinstance(v, complex):
        raise SpecError("bad-expression", f"`{src}` gives a complex number", loc)
    return v


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _precheck_binop(op: ast.operator, left: Any, right: Any, src: str, loc: Location | None) -> None:
    """Refuse an operation whose result would be out of bounds, before running it."""

    def refuse(why: str) -> SpecError:
        return SpecError("bad-expression", f"`{src}` {why}", loc)

    seq = (str, list)
    if isinstance(op, ast.Mod) and not (_num(left) and _num(right)):
        raise refuse("uses `%` on a non-number: `%` is the remainder of numbers (no string formatting)")
    if isinstance(op, ast.Pow):
        if not (_num(left) and _num(right)):
            raise refuse("uses `**` on a non-number")
        if abs(right) > 64:
            raise SpecError("bad-expression", f"exponent {right} is too large in `{src}`", loc)
        if abs(left) > 1 and right > 0 and math.log10(abs(left)) * right > 15.5:
            raise refuse("gives a number past ±10^15, which is out of range")
    if isinstance(op, ast.Mult) and (isinstance(left, seq) or isinstance(right, seq)):
        if isinstance(left, seq) and isinstance(right, seq):
            raise refuse("multiplies two sequences")
        sq, times = (left, right) if isinstance(left, seq) else (right, left)
        if isinstance(times, bool) or not isinstance(times, int):
            raise refuse("repeats a sequence a non-integer number of times")
        if times > 0 and _size(sq) * times > _MAX_REPEAT:  # "x" * 10**9 would eat the memory
            raise refuse(f"repeats a sequence {times} times: too long (more than {_MAX_REPEAT:,} items)")
    if (
        isinstance(op, ast.Add)
        and isinstance(left, seq)
        and isinstance(right, seq)
        and _size(left) + _size(right) > _MAX_REPEAT
    ):
        raise refuse(f"builds a value of more than {_MAX_REPEAT:,} items")


def _eval(node: ast.AST, scope: Mapping[str, Any], src: str, loc: Location | None, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise SpecError("bad-expression", f"`{src}` nests more than {_MAX_DEPTH} levels deep", loc)

    def ev(n: ast.AST) -> Any:
        return _check(_eval(n, scope, src, loc, depth + 1), src, loc)

    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
        return _check(node.value, src, loc)
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
        return _check(scope[node.id], src, loc)
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        left, right = ev(node.left), ev(node.right)
        _precheck_binop(node.op, left, right, src, loc)
        return _check(_BIN[type(node.op)](left, right), src, loc)
    if isinstance(node, ast.UnaryOp):
        operand = ev(node.operand)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and not _num(operand):
            raise SpecError("bad-expression", f"`{src}` negates a non-number", loc)
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
        return _check([ev(e) for e in node.elts], src, loc)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        fname = node.func.id
        args = [ev(a) for a in node.args]
        if fname == "round" and len(args) == 2:
            nd = args[1]
            if isinstance(nd, bool) or not isinstance(nd, int) or abs(nd) > _MAX_ROUND:
                raise SpecError("bad-expression", f"round()'s digits must be an integer from -15 to 15 in `{src}`", loc)
        if fname == "int":
            if len(args) != 1:
                raise SpecError("bad-expression", f"int() takes one argument in `{src}`", loc)
            if isinstance(args[0], str) and len(args[0].strip()) > 20:
                raise SpecError("bad-expression", f"int() of a text longer than 20 characters in `{src}`", loc)
            if isinstance(args[0], float) and abs(args[0]) > _MAX_MAGNITUDE:
                raise SpecError("bad-expression", f"`{src}` gives a number past ±10^15, which is out of range", loc)
        return _check(_FUNCS[fname](*args), src, loc)
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
        if len(value) > _MAX_REPEAT:
            raise SpecError("bad-expression", f"a text with expressions may be at most {_MAX_REPEAT:,} characters", loc)
        out = _PART.sub(lambda m: _as_text(evaluate(m.group(0), scope, loc)), value)
        if len(out) > _MAX_REPEAT:
            raise SpecError(
                "bad-expression", f"`{value[:80]}` becomes a text of more than {_MAX_REPEAT:,} characters", loc
            )
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
