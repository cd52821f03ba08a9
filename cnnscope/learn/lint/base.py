"""The lint registry, the context every rule reads, the selection, and the run.

A rule is a function over a :class:`LintContext` (graph, shapes, receptive fields, params)
yielding :class:`Hit`s; :func:`rule` registers it with its id, severity, summary, why and
fix, and the run turns each hit into a :class:`~cnnscope.diagnostics.Diagnostic`. Rules are
switched off per spec (``lint: {disable: [id]}``, or per layer with ``lint: {allow: {id:
[layer-glob, ...]}}``) or from the config (``[tool.cnnscope.lint] disable = [...]``). What a
rule knows about a layer it asks the layer (``learned_linear``, ``window()``, ...), never its
family's name. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import field
from fnmatch import fnmatchcase
from math import prod

from cnnscope.analyze.rf import RFInfo, receptive_fields
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.diagnostics import SEVERITIES, Diagnostic
from cnnscope.errors import Location, SpecError, UsageError, did_you_mean
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import Layer, RFKind, Shape
from cnnscope.records import MutableRecord, Record, mutable_record, record


@mutable_record
class LintContext(MutableRecord):
    graph: Graph
    shapes: dict[str, Shape]
    rf: dict[str, RFInfo]  # the receptive-field analyzer's, by node name
    params: dict[str, int]
    consumers: dict[str, list[str]] = field(default_factory=dict)

    def ins(self, node: Node) -> list[Shape]:
        return [self.shapes[i] for i in node.inputs]

    def preds(self, node: Node) -> list[Node]:
        return [self.graph.node(i) for i in node.inputs if i != INPUT]

    def convolutions(self) -> list[Node]:
        return [n for n in self.graph.nodes if n.layer.convolution]

    def global_collapses(self) -> list[Node]:
        """Head collapses: nodes that turn a spatial map into features seeing the whole input,
        whose result never flows back into a spatial map (a squeeze-excitation gate does)."""
        feeds_spatial: dict[str, bool] = {}
        for node in reversed(self.graph.nodes):
            feeds_spatial[node.name] = any(
                spatial(self.shapes[u]) or feeds_spatial.get(u, False) for u in self.consumers.get(node.name, [])
            )
        out = []
        for node in self.graph.nodes:
            ins = self.ins(node)
            if ins and spatial(ins[0]) and node.layer.rf(ins).kind is RFKind.GLOBAL and not feeds_spatial[node.name]:
                out.append(node)
        return out


def channels(shape: Shape) -> int:
    return shape[1] if len(shape) > 1 else shape[-1]


def spatial(shape: Shape) -> bool:
    """A map with more than one position."""
    return len(shape) > 2 and prod(shape[2:]) > 1


def dense(layer: Layer) -> bool:
    """A fully connected layer: a learned linear map that slides no window."""
    return layer.learned_linear and not layer.convolution


def dims_text(dims: Sequence[int]) -> str:
    return "×".join(map(str, dims))


# -- the registry --------------------------------------------------------------------------

Check = Callable[[LintContext], Iterable["Hit"]]


@record
class Hit(Record):
    """What a check yields; the registry adds the rule's id, why and fix."""

    node: Node
    message: str
    severity: str | None = None  # override the rule's severity for this one finding


@record
class Rule(Record):
    id: str
    severity: str
    summary: str
    why: str
    fix: str
    check: Check


_RULES: dict[str, Rule] = {}


def rule(id: str, severity: str, summary: str, why: str, fix: str) -> Callable[[Check], Check]:
    """Register a check under ``id``; a duplicate id is a programming error."""
    if severity not in SEVERITIES:
        raise ValueError(f"rule `{id}`: severity must be one of {SEVERITIES}")

    def deco(fn: Check) -> Check:
        if id in _RULES:
            raise ValueError(f"lint rule `{id}` is registered twice")
        _RULES[id] = Rule(id, severity, summary, why, fix, fn)
        return fn

    return deco


def all_rules() -> dict[str, Rule]:
    """Every registered rule by id (imports the rule modules once)."""
    from cnnscope.learn.lint.rules import load

    load()
    return dict(_RULES)


# -- selecting and running -------------------------------------------------------------------


@record
class Selection(Record):
    select: tuple[str, ...] = ()  # empty: every rule
    ignore: tuple[str, ...] = ()
    allow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rule -> layer globs


def _check_ids(ids: Iterable[str], where: str, loc: Location | None = None, spec: bool = False) -> list[str]:
    known = all_rules()
    out = []
    for i in ids:
        if not isinstance(i, str) or i not in known:
            cls = SpecError if spec else UsageError
            raise cls(
                "unknown-rule",
                f"{where} names no lint rule `{i}`{did_you_mean(str(i), known)}",
                loc,
                "`cnnscope lint --list-rules` lists them",
            )
        out.append(i)
    return out


def spec_selection(graph: Graph) -> Selection:
    """The spec's own `lint:` section: ``{disable: [id, ...], allow: {id: [layer-glob, ...]}}``."""
    section = graph.sections.get("lint")
    if section is None:
        return Selection()
    raw = section.value
    loc = section.loc or Location(graph.file)
    if not isinstance(raw, dict) or set(raw) - {"disable", "allow"}:
        raise SpecError(
            "bad-lint",
            "`lint:` must be a mapping with `disable: [rule, ...]` and/or `allow: {rule: [layer, ...]}`",
            loc,
        )
    disable = raw.get("disable", [])
    allow = raw.get("allow", {})
    if (
        not isinstance(disable, list)
        or not isinstance(allow, dict)
        or not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in allow.values())
    ):
        raise SpecError(
            "bad-lint",
            "`lint.disable` must be a list of rule ids and `lint.allow` a mapping of rule "
            "ids to lists of layer names (globs allowed)",
            loc,
        )
    _check_ids(disable, "`lint.disable`", loc, spec=True)
    _check_ids(allow, "`lint.allow`", loc, spec=True)
    return Selection(ignore=tuple(disable), allow={k: tuple(v) for k, v in allow.items()})


def lint(graph: Graph, batch: int = 1, selections: Sequence[Selection] = ()) -> list[Diagnostic]:
    """Run the selected rules over ``graph``; the spec's own `lint:` section always applies.
    Each finding is a diagnostic: the rule's id, the layer as subject, its spec line."""
    shapes = infer_shapes(graph, batch)
    params = {n.name: (0 if n.shares else n.layer.params([shapes[i] for i in n.inputs]).total) for n in graph.nodes}
    ctx = LintContext(graph, shapes, receptive_fields(graph, shapes), params, graph.consumers())
    sels = [*selections, spec_selection(graph)]
    for s in sels:
        _check_ids([*s.select, *s.ignore, *s.allow], "the selection")
    chosen = [
        r
        for r in all_rules().values()
        if all(not s.select or r.id in s.select for s in sels) and not any(r.id in s.ignore for s in sels)
    ]
    findings = []
    for r in chosen:
        for hit in r.check(ctx):
            if any(fnmatchcase(hit.node.name, g) for s in sels for g in s.allow.get(r.id, ())):
                continue
            findings.append(
                Diagnostic(
                    r.id,
                    hit.severity or r.severity,
                    hit.message,
                    location=hit.node.loc,
                    subject=hit.node.name,
                    why=r.why,
                    fix=r.fix,
                )
            )
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    findings.sort(key=lambda f: (order.get(f.subject or "", -1), f.id))
    return findings
