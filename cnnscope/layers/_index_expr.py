"""Basic index expressions as Python writes them (``"[:, 0, 1:5:2, None, ...]"``): parsed,
written back, and the region they take of a shape. Torch-free; the ``sliceput`` layer's
``index`` field and the torch frontend's writes read them.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from cnnscope.errors import ShapeError
from cnnscope.layers.fields import FieldError, Kind, kind_dataclass

Item = Any  # int | slice | None | Ellipsis: one item of a basic index
Shape = tuple[int, ...]


def _int_expr(node: ast.expr | None) -> int | None:
    if node is None:
        return None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_expr(node.operand)
        if inner is not None:
            return -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return int(node.value)
    raise FieldError("expected integers in the index (start:stop:step, an int, None or ...)")


def parse_index(text: str) -> tuple[Item, ...]:
    """``"[:, 0, 1:5:2, None, ...]"`` as Python would index with it (torch-free)."""
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    if not body.strip():
        raise FieldError("expected an index such as [:, 0, 1:3], got an empty one")
    try:
        tree = ast.parse(f"_[{body}]", mode="eval").body
    except SyntaxError:
        raise FieldError(f"expected an index such as [:, 0, 1:3], got {text!r}") from None
    assert isinstance(tree, ast.Subscript)
    nodes = tree.slice.elts if isinstance(tree.slice, ast.Tuple) else [tree.slice]
    items: list[Item] = []
    for n in nodes:
        if isinstance(n, ast.Slice):
            items.append(slice(_int_expr(n.lower), _int_expr(n.upper), _int_expr(n.step)))
        elif isinstance(n, ast.Constant) and (n.value is None or n.value is Ellipsis):
            items.append(n.value)
        else:
            items.append(_int_expr(n))
    if sum(i is Ellipsis for i in items) > 1:
        raise FieldError("an index can hold one ... at most")
    return tuple(items)


def index_text(items: Sequence[Item]) -> str:
    """The Python spelling of a basic index: ``[:, 0, 1:5:2]``."""

    def one(i: Item) -> str:
        if i is Ellipsis:
            return "..."
        if i is None:
            return "None"
        if isinstance(i, slice):
            lo = "" if i.start is None else str(i.start)
            hi = "" if i.stop is None else str(i.stop)
            return f"{lo}:{hi}" + ("" if i.step in (None, 1) else f":{i.step}")
        return str(int(i))

    return "[" + ", ".join(one(i) for i in items) + "]"


def expand_items(items: Sequence[Item], rank: int) -> list[Item]:
    """The index with ``...`` written out as whole slices, one item per dim it covers."""
    real = sum(1 for i in items if i is not None and i is not Ellipsis)
    if real > rank:
        raise ShapeError("bad-dim", f"index {index_text(items)} has {real} dims, the input only {rank}")
    out: list[Item] = []
    for i in items:
        out.extend([slice(None)] * (rank - real) if i is Ellipsis else [i])
    if Ellipsis not in items:
        out.extend([slice(None)] * (rank - real))
    return out


def region(shape: Shape, items: Sequence[Item]) -> Shape:
    """The shape of ``x[items]`` for an ``x`` of ``shape`` (Python's clamping of slices)."""
    out: list[int] = []
    d = 0
    for i in expand_items(items, len(shape)):
        if i is None:
            out.append(1)
            continue
        size = shape[d]
        if isinstance(i, slice):
            if i.step is not None and i.step < 1:
                raise ShapeError("bad-dim", f"slice step {i.step} in {index_text(items)}: torch takes steps >= 1")
            out.append(len(range(*i.indices(size))))
        elif not -size <= i < size:
            raise ShapeError("bad-dim", f"index {i} is out of range for dim {d} of size {size} (input {list(shape)})")
        d += 1
    return tuple(out)


def expands_to(value: Shape, target: Shape, what: str) -> None:
    """``x[...] = v``: ``v``, its leading 1s dropped, must broadcast to the region written."""
    v = list(value)
    while v and v[0] == 1 and len(v) > len(target):
        v.pop(0)
    ok = len(v) <= len(target) and all(a in (1, b) for a, b in zip(reversed(v), reversed(target), strict=False))
    if not ok:
        raise ShapeError(
            "shape-mismatch", f"{what}: a value of shape {list(value)} does not broadcast to the {list(target)} written"
        )


@kind_dataclass
class IndexText(Kind):
    """A basic index as Python writes it, kept in its canonical spelling."""

    def coerce(self, value: Any, ndim: int | None) -> str:
        if not isinstance(value, str):
            raise FieldError(f'expected an index such as "[:, 0, 1:3]", got {type(value).__name__}')
        return index_text(parse_index(value))

    def describe(self, ndim: int | None) -> str:
        return 'an index as Python writes it ("[:, :, 1:, 1:]", "[0, :3]", "[..., 2]")'
