"""The analyzer registry, the analysis context and the report every analyzer fills.

An analyzer is a function ``run(ctx, report)`` registered with :func:`analyzer`. It reads
``ctx.graph`` and ``ctx.shapes`` and writes plain numbers into the report's rows (one dict
per layer, in graph order), its totals, columns and warnings. Analyzers never format
numbers: ``Column.unit`` tells render/ how.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Any

from cnnscope.errors import Diagnostic, Location, UsageError, did_you_mean
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import Shape
from cnnscope.perf import gc_paused
from cnnscope.records import MutableRecord, Record, mutable_record, record


@record
class Column(Record):
    """A table column: ``key`` is a dotted path into a row (``rf.size``); ``unit`` picks the
    formatter in render/ (count, macs, flops, ops, bytes, shape, dims, percent, ms, text)."""

    key: str
    title: str
    unit: str = "count"
    total: bool = True  # show the total under this column


@mutable_record
class Warning_(MutableRecord):
    message: str
    layer: str | None = None
    loc: Location | None = None
    kind: str = "warning"

    def diagnostic(self) -> Diagnostic:
        """This warning as the one diagnostic type every output format writes."""
        return Diagnostic(self.kind, "warning", self.message, self.loc, subject=self.layer)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message, "layer": self.layer}
        if self.loc is not None:
            out["location"] = {"file": self.loc.file, "line": self.loc.line, "column": self.loc.col}
        return out


@mutable_record
class Report(MutableRecord):
    model: str
    source: str
    input_shape: Shape  # batch included
    batch: int
    rows: list[dict[str, Any]]
    columns: list[Column] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    warnings: list[Warning_] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    analyzers: list[str] = field(default_factory=list)
    figures: list[Column] = field(default_factory=list)  # totals shown beneath the table (key into totals)
    units: dict[str, str] = field(default_factory=dict)  # the unit of each numeric total (dotted key)

    def row(self, name: str) -> dict[str, Any]:
        return self.rows[self._index[name]]

    def __post_init__(self) -> None:
        self._index = {r["name"]: i for i, r in enumerate(self.rows)}

    def add_columns(self, *cols: Column) -> None:
        self.columns.extend(cols)

    def add_figures(self, *figs: Column) -> None:
        """Whole-model figures (``key`` into totals) that a table shows beneath its rows."""
        self.figures.extend(figs)

    def declare(self, units: dict[str, str]) -> None:
        """Say the unit of totals (``{"params": "count", "training.total_bytes": "bytes"}``):
        what a budget on them or a diff of them is counted in. A column's or a figure's
        unit declares its total too."""
        self.units.update(units)

    def unit_of(self, key: str) -> str | None:
        """The unit of the total ``key`` as declared (None: never declared)."""
        if key in self.units:
            return self.units[key]
        for c in (*self.columns, *self.figures):
            if c.key == key:
                return c.unit
        return None

    def warn(self, message: str, node: Node | None = None, kind: str = "warning") -> None:
        w = Warning_(message, node.name if node else None, node.loc if node else None, kind)
        self.warnings.append(w)
        if node is not None:
            self.row(node.name).setdefault("warnings", []).append(message)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {  # the json format adds its schema_version
            "model": self.model,
            "source": self.source,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
        }
        out.update(self.meta)
        out["layers"] = self.rows
        out["totals"] = self.totals
        out["warnings"] = [w.to_json() for w in self.warnings]
        if self.notes:
            out["notes"] = self.notes
        return out


@mutable_record
class Context(MutableRecord):
    graph: Graph
    batch: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    shapes: dict[str, Shape] = field(default_factory=dict)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    def ins(self, node: Node) -> list[Shape]:
        return [self.shapes[i] for i in node.inputs]

    def of(self, node: Node, method: str, with_out: bool = False) -> Any:
        """``node.layer.<method>(ins)`` (or ``(ins, out)``), once per layer and shapes: layers are
        frozen values, these methods pure functions of them, and a network repeats its blocks
        (identical layers are one object, so the key is the object's id: the graph keeps it
        alive). The value may be shared between nodes: read it, do not change it."""
        ins = [self.shapes[i] for i in node.inputs]
        out = self.shapes[node.name] if with_out else None
        key = (method, id(node.layer), out, *ins)
        try:
            return self._memo[key]
        except KeyError:
            pass
        fn = getattr(node.layer, method)
        value = self._memo[key] = fn(ins, out) if with_out else fn(ins)
        return value

    @property
    def input_shape(self) -> Shape:
        return self.shapes[INPUT]


Run = Callable[[Context, Report], None]


@record
class Analyzer(Record):
    name: str
    run: Run
    order: int
    requires: tuple[str, ...] = ()
    summary: bool = True  # part of `cnnscope summary`
    doc: str = ""


_ANALYZERS: dict[str, Analyzer] = {}


def analyzer(
    name: str, *, order: int, requires: Sequence[str] = (), summary: bool = True, doc: str = ""
) -> Callable[[Run], Run]:
    """Register ``run`` as the analyzer ``name``; ``requires`` run first."""

    def deco(fn: Run) -> Run:
        if name in _ANALYZERS:
            raise ValueError(f"analyzer `{name}` is registered twice")
        _ANALYZERS[name] = Analyzer(name, fn, order, tuple(requires), summary, doc or (fn.__doc__ or "").strip())
        return fn

    return deco


def analyzers() -> dict[str, Analyzer]:
    import cnnscope.analyze  # noqa: F401 - registers the analyzers

    return dict(_ANALYZERS)


def analyze(graph: Graph, names: Sequence[str] | None = None, batch: int = 1, **options: Any) -> Report:
    """Run the named analyzers (default: every summary analyzer) and their requirements."""
    reg = analyzers()
    wanted = [a.name for a in reg.values() if a.summary] if names is None else list(names)
    todo: list[str] = []

    def add(n: str) -> None:
        if n not in reg:
            raise UsageError("unknown-analyzer", f"no analyzer `{n}`{did_you_mean(n, reg)}")
        for r in reg[n].requires:
            add(r)
        if n not in todo:
            todo.append(n)

    add("shapes")
    for n in wanted:
        add(n)
    todo.sort(key=lambda n: reg[n].order)
    if batch < 1:
        raise UsageError("bad-value", f"--batch must be a positive integer, got {batch}")
    ctx = Context(graph, batch, dict(options))
    with gc_paused():
        rows = [{"name": n.name, "type": n.layer.type_name, "inputs": list(n.inputs)} for n in graph.nodes]
        report = Report(graph.name, graph.source, (batch, *graph.input_shape), batch, rows)
        for n in todo:
            reg[n].run(ctx, report)
            report.analyzers.append(n)
    return report


def get_path(row: Mapping[str, Any], key: str) -> Any:
    """``row["rf"]["size"]`` for the key ``rf.size``; None where any part is missing."""
    cur: Any = row
    for part in key.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return None
        cur = cur[part]
    return cur


def trunk(graph: Graph) -> set[str]:
    """The output and every node it depends on, by name (a side head the output does not read,
    and ``input``, are left out)."""
    seen: set[str] = set()
    stack = [graph.output]
    while stack:
        name = stack.pop()
        if name in seen or name == INPUT:
            continue
        seen.add(name)
        stack.extend(graph.node(name).inputs)
    return seen
