"""The pieces of an exported spec: entries (a layer or a block instance) with their values,
and the value algebra that makes block arguments (``${4 * planes}``) and repeat expressions
(``${64 + 32 * i}``) out of columns of values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from cnnscope.graph import Graph, Node
from cnnscope.layers.base import _LIST_FIELDS


def entry(d: Any, flow: bool | None = True) -> str:
    text: str = yaml.safe_dump(d, default_flow_style=flow, sort_keys=False, width=1_000_000, allow_unicode=True)
    return text.strip()


def header(graph: Graph) -> list[str]:
    return [
        f"# exported by cnnscope from {graph.source or graph.name}",
        entry({"name": graph.name}, False),
        "input: " + entry(list(graph.input_shape)),
    ]


class Fail(Exception):
    """This grouping cannot be expressed; the caller tries a smaller one."""


@dataclass
class Ent:
    """One entry of a scope: a layer or a block instance, references as global node names."""

    name: str  # local to its scope
    head: str  # "type" or "block"
    what: str  # the layer type or the block name
    values: dict[str, Any]  # every field (layers) or argument (blocks)
    hide: frozenset[str]  # keys at their default: not written
    inputs: tuple[str, ...]
    out: str  # the global name of the node this entry's output is
    shares: str | None = None
    repeat: int = 1
    nodes: frozenset[str] = frozenset()  # the graph nodes it stands for
    free: frozenset[str] = frozenset()  # arguments this instance does not use (any value does)


@dataclass
class Group:
    """Consecutive nodes under one name prefix, written as a block instance where they repeat."""

    prefix: str  # "layer1.0."
    nodes: list[Node]
    ext: str = ""  # its one external input
    closed: bool = False  # one input, only its last node used outside
    body: list[Ent] = field(default_factory=list)
    inst: Ent | None = None  # set when it is written as a block instance


@dataclass(frozen=True)
class Local:
    """An entry as its scope writes it: references are names in that scope (``input`` for
    the scope's one external input)."""

    name: str
    head: str
    what: str
    values: dict[str, Any]
    hide: frozenset[str]
    inputs: list[str]  # `from:`
    default_inputs: list[str]  # what `from:` is when it is not written: the entry before
    shares: str | None
    repeat: int

    def kind(self) -> tuple[Any, ...]:
        """What members of one block must agree on, entry by entry."""
        return (self.head, self.what, set(self.values), len(self.inputs), self.repeat)


def norm(name: str, v: Any) -> Any:
    if isinstance(v, tuple):
        return v[0] if len(set(v)) == 1 and v and name not in _LIST_FIELDS else [norm("", x) for x in v]
    return v


def ident(text: str) -> str:
    s = re.sub(r"\W", "_", text).strip("_").lower() or "b"
    return f"b_{s}" if s[0].isdigit() else s


RESERVED = {"name", "from", "repeat", "when", "block", "i", "shares", "type", "input"}


@dataclass(frozen=True)
class Const:
    """A literal value in an exported entry."""

    value: Any


def value_key(v: Any) -> Any:
    return (type(v).__name__, repr(v))


def derive(a: str, acol: list[Any], vals: list[Any]) -> str | None:
    """``vals`` as an expression of the argument ``a`` (values ``acol``), if it is one."""
    if [value_key(x) for x in acol] == [value_key(v) for v in vals]:
        return "${" + a + "}"
    if all(isinstance(x, bool) for x in acol) and len(set(acol)) == 2:
        t = {value_key(v) for x, v in zip(acol, vals) if x}
        f = {value_key(v) for x, v in zip(acol, vals) if not x}
        if len(t) == 1 and len(f) == 1:
            tv = next(v for x, v in zip(acol, vals) if x)
            fv = next(v for x, v in zip(acol, vals) if not x)
            return "${" + f"{tv!r} if {a} else {fv!r}" + "}"
        return None
    ints = all(isinstance(x, int) and not isinstance(x, bool) for x in (*acol, *vals))
    if ints and all(x != 0 for x in acol) and vals[0] % acol[0] == 0:
        k = vals[0] // acol[0]
        if all(v == k * x for x, v in zip(acol, vals)):
            return "${" + f"{k} * {a}" + "}"
    if ints and all(v != 0 for v in vals) and acol[0] % vals[0] == 0:
        k = acol[0] // vals[0]
        if k > 0 and all(x == k * v for x, v in zip(acol, vals)):
            return "${" + f"{a} // {k}" + "}"
    return None


def by_index(col: list[Any]) -> Any:
    """The values of a repeated entry as an expression of the repeat index ``i``."""
    if any(isinstance(v, str) and "${" in v for v in col) or any(v is None for v in col):
        raise Fail("a repeated value that is an expression or null")
    if all(isinstance(v, bool) for v in col) and col[0] and not any(col[1:]):
        return "${i == 0}"
    if all(value_key(v) == value_key(col[1]) for v in col[1:]):
        return "${" + f"{col[0]!r} if i == 0 else {col[1]!r}" + "}"
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in col)
    if ints and all(col[j + 1] - col[j] == col[1] - col[0] for j in range(len(col) - 1)):
        return "${" + f"{col[0]} + {col[1] - col[0]} * i" + "}"
    expr = repr(col[-1])
    for j in range(len(col) - 2, -1, -1):
        expr = f"{col[j]!r} if i == {j} else {expr}"
    return "${" + expr + "}"


def list_of_blocks(body: list[Ent]) -> bool:
    """A container of numbered blocks (a stage): written inline, so that it can repeat."""
    return all(e.head == "block" and (e.name.isdigit() or e.repeat > 1) for e in body)


def shape_key(body: list[Ent]) -> str:
    return repr([(e.name, e.head, e.what, sorted(e.values), len(e.inputs), e.repeat) for e in body])


def written(d: Local) -> dict[str, Any]:
    """The mapping a spec writes for ``d`` (the YAML entry)."""
    out: dict[str, Any] = {"name": d.name, d.head: d.what}
    if d.repeat != 1:
        out["repeat"] = d.repeat
    for k, v in d.values.items():
        if k not in d.hide:
            out[k] = v
    if d.inputs != d.default_inputs:
        out["from"] = d.inputs[0] if len(d.inputs) == 1 else d.inputs
    if d.shares:
        out["shares"] = d.shares
    return out
