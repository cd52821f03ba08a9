"""The layer graph: a frozen DAG of named nodes in topological order.

Every frontend (YAML spec, torch module) produces a :class:`Graph`; every analyzer reads
one. :func:`Graph.build` checks the wiring (dangling inputs, duplicate names, cycles) and
orders the nodes so that each comes after its inputs.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field
from types import MappingProxyType
from typing import Any, TypeVar, dataclass_transform

from cnnscope.errors import Location, SpecError, did_you_mean
from cnnscope.layers.base import Layer

INPUT = "input"

R = TypeVar("R", bound=type)
_SPECS: dict[type, tuple[tuple[tuple[str, Any, Any], ...], tuple[str, ...], tuple[str, ...], bool]] = {}


@dataclass_transform(frozen_default=True)
def record(cls: R) -> R:
    """A frozen dataclass whose ``__init__``, equality, hash and repr are :class:`Record`'s
    generic ones. ``@dataclass(frozen=True)`` would generate and compile six methods for each
    class when its module is imported, about half a millisecond a class, which every analytic
    command paid; these behave the same (``dataclasses.fields`` and ``replace`` work)."""
    doc = cls.__dict__.get("__doc__")
    if doc is None:
        cls.__doc__ = "-"  # else dataclass writes one from inspect.signature
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)  # the class itself, with its fields
    if doc is None:
        cls.__doc__ = None
    return cls


@dataclass_transform()
def mutable_record(cls: R) -> R:
    """:func:`record` for a :class:`MutableRecord` (fields that may change)."""
    return record(cls)


def _spec(cls: type) -> tuple[tuple[tuple[str, Any, Any], ...], tuple[str, ...], tuple[str, ...], bool]:
    spec = _SPECS.get(cls)
    if spec is None:
        fs = [f for f in dataclasses.fields(cls) if f.init]
        spec = _SPECS[cls] = (
            tuple((f.name, f.default, f.default_factory) for f in fs),
            tuple(f.name for f in dataclasses.fields(cls) if f.compare),
            tuple(f.name for f in dataclasses.fields(cls) if f.repr),
            hasattr(cls, "__post_init__"),
        )
    return spec


class _Fields:
    """What a dataclass generates, once for every class: ``__init__`` (``__post_init__`` called
    as a dataclass calls it), equality (of one class, field by field) and repr."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # object.__setattr__, not the instance's __dict__: reading that dict would cost every
        # later attribute read its fast path (CPython keeps attributes inline until then)
        init, _cmp, _rep, post = _spec(type(self))
        put = object.__setattr__
        if len(args) == len(init) and not kwargs and not post:  # the common call: every field, in order
            for (name, _default, _factory), value in zip(init, args):
                put(self, name, value)
            return
        if len(args) > len(init):
            raise TypeError(f"{type(self).__name__}() takes {len(init)} positional arguments, got {len(args)}")
        for k, (name, default, factory) in enumerate(init):
            if k < len(args):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
                put(self, name, args[k])
            elif name in kwargs:
                put(self, name, kwargs.pop(name))
            elif default is not dataclasses.MISSING:
                put(self, name, default)
            elif factory is not dataclasses.MISSING:
                put(self, name, factory())
            else:
                raise TypeError(f"{type(self).__name__}() missing the argument {name!r}")
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        if post:
            self.__post_init__()  # type: ignore[attr-defined]

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in _spec(type(self))[1])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _spec(type(self))[2])
        return f"{type(self).__qualname__}({fields})"


class Record(_Fields):
    """Base of :func:`record` classes: a frozen dataclass's semantics (fields set once, then
    immutable; hashed by its fields)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._key())


class MutableRecord(_Fields):
    """Base of :func:`mutable_record` classes: a plain dataclass's semantics (fields that may
    change; no hash)."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]


@record
class Node(Record):
    """One layer instance: its unique name, its layer, the names of its inputs."""

    name: str
    layer: Layer
    inputs: tuple[str, ...]
    loc: Location | None = None
    block: str | None = None  # the block definition it came from, if any
    shares: str | None = None  # another node whose parameters this one reuses (tied weights)

    def __init__(
        self,
        name: str,
        layer: Layer,
        inputs: tuple[str, ...],
        loc: Location | None = None,
        block: str | None = None,
        shares: str | None = None,
    ) -> None:
        # written out (half the time of Record's generic one): a large spec makes one Node per layer
        put = object.__setattr__
        put(self, "name", name)
        put(self, "layer", layer)
        put(self, "inputs", inputs)
        put(self, "loc", loc)
        put(self, "block", block)
        put(self, "shares", shares)

    @property
    def type(self) -> str:
        return self.layer.type_name


@record
class Section(Record):
    """A top-level section of a spec that a part other than the frontend reads (``budget:``,
    ``lint:``; ``input:`` for its location): its plain value, where it is written, and where
    each of its keys is. The frontend hands these instead of its whole document."""

    value: Any
    loc: Location | None = None
    key_locs: Mapping[str, Location | None] = field(default_factory=lambda: MappingProxyType({}))

    def key_loc(self, key: str) -> Location | None:
        return self.key_locs.get(key) or self.loc


@record
class Graph(Record):
    name: str
    input_shape: tuple[int, ...]  # without the batch dim
    nodes: tuple[Node, ...]  # topological order
    output: str
    source: str = ""
    file: str | None = None
    extras: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    sections: Mapping[str, Section] = field(default_factory=lambda: MappingProxyType({}))
    _index: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def node(self, name: str) -> Node:
        return self.nodes[self._index[name]]

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {INPUT: []}
        for n in self.nodes:
            out.setdefault(n.name, [])
            for i in n.inputs:
                out.setdefault(i, []).append(n.name)
        return out

    @staticmethod
    def build(
        name: str,
        input_shape: Sequence[int],
        nodes: Sequence[Node],
        output: str | None = None,
        source: str = "",
        file: str | None = None,
        extras: Mapping[str, Any] | None = None,
        output_loc: Location | None = None,
        sections: Mapping[str, Section] | None = None,
    ) -> Graph:
        """Check wiring and sort topologically (stable: definition order where free)."""
        if not nodes:
            raise SpecError("empty-spec", "the model has no layers", Location(file, 1, 1) if file else None)
        index: dict[str, int] = {}
        for i, n in enumerate(nodes):
            if n.name == INPUT:
                raise SpecError("duplicate-name", "`input` is reserved for the model input", n.loc)
            if n.name in index:
                first = nodes[index[n.name]]
                raise SpecError(
                    "duplicate-name",
                    f"layer name `{n.name}` is used twice",
                    n.loc,
                    f"the first `{n.name}` is at {first.loc}" if first.loc else None,
                )
            index[n.name] = i
        indeg = [0] * len(nodes)
        users: list[list[int]] = [[] for _ in nodes]
        for i, n in enumerate(nodes):
            for src in n.inputs:
                if src == INPUT:
                    continue
                j = index.get(src)
                if j is None:
                    raise SpecError(
                        "dangling-input",
                        f"layer `{n.name}` takes input from `{src}`, which does not exist"
                        + did_you_mean(src, [*list(index), INPUT]),
                        n.loc,
                    )
                indeg[i] += 1
                users[j].append(i)
        ready = [i for i, d in enumerate(indeg) if d == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for u in users[i]:
                indeg[u] -= 1
                if indeg[u] == 0:
                    heapq.heappush(ready, u)
        if len(order) != len(nodes):
            stuck = [nodes[i] for i, d in enumerate(indeg) if d > 0]
            cycle = _find_cycle(stuck, index, nodes)
            raise SpecError(
                "cycle",
                "the layers form a cycle: " + _show_cycle(cycle),
                nodes[index[cycle[0]]].loc,
                "a layer's `from:` must not lead back to itself",
            )
        ordered = tuple(nodes[i] for i in order)
        out = output or nodes[-1].name
        if out not in index:
            raise SpecError("dangling-input", f"`output: {out}` names no layer" + did_you_mean(out, index), output_loc)
        return Graph(
            name=name,
            input_shape=tuple(input_shape),
            nodes=ordered,
            output=out,
            source=source,
            file=file,
            extras=MappingProxyType(dict(extras or {})),
            sections=MappingProxyType(dict(sections or {})),
            _index=MappingProxyType({n.name: k for k, n in enumerate(ordered)}),
        )


def _find_cycle(stuck: list[Node], index: Mapping[str, int], nodes: Sequence[Node]) -> list[str]:
    stuck_names = {n.name for n in stuck}
    start = stuck[0].name
    seen: dict[str, int] = {}
    path: list[str] = []
    cur = start
    while cur not in seen:
        seen[cur] = len(path)
        path.append(cur)
        nxt = next(i for i in nodes[index[cur]].inputs if i in stuck_names)
        cur = nxt
    cyc = path[seen[cur] :]
    cyc.reverse()
    return [*cyc, cyc[0]]


def _show_cycle(cycle: list[str]) -> str:
    names = [f"`{c}`" for c in cycle]
    if len(names) > 7:
        names = [*names[:3], f"… {len(names) - 6} more …", *names[-3:]]
    return " → ".join(names)
