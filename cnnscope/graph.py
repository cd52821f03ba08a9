"""The layer graph: a frozen DAG of named nodes in topological order.

Every frontend (YAML spec, torch module) produces a :class:`Graph`; every analyzer reads
one. :func:`Graph.build` checks the wiring (dangling inputs, duplicate names, cycles) and
orders the nodes so that each comes after its inputs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field
from types import MappingProxyType
from typing import Any

from cnnscope.errors import Location, SpecError, did_you_mean
from cnnscope.layers.base import Layer
from cnnscope.records import Record, record

INPUT = "input"


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
