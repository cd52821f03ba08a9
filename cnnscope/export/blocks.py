"""Graph -> YAML spec text that ``load_spec`` loads back to the same graph.

Names are kept as the graph has them (for a captured module, its qualified names:
``layer1.0.conv1``, torchvision's layout). Where the module repeats itself the spec uses
blocks: the dotted names give a tree of groups (``layer1``, ``layer1.0``,
``layer1.0.downsample``); a group with one input and one output becomes a block instance
when another group has the same structure up to field values (or is of the same module
class, with optional parts: those get a ``when:`` flag). Values that differ between the
instances become block arguments (``${4 * planes}`` where one is a multiple of another);
consecutive instances ``P.0 .. P.k-1`` become one entry with ``repeat: k`` and arguments in
``i``. The result is loaded back and compared node by node; should it differ, the flat form
is written instead (``flat=True`` asks for it). Torch-free.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from cnnscope.errors import CnnscopeError, SpecError
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import _LIST_FIELDS, registry


def _entry(d: Any, flow: bool | None = True) -> str:
    text: str = yaml.safe_dump(d, default_flow_style=flow, sort_keys=False, width=1_000_000, allow_unicode=True)
    return text.strip()


def _refuse_opaque(graph: Graph) -> None:
    opaque = [n for n in graph.nodes if n.layer.opaque]
    if opaque:
        ops = sorted({str(getattr(n.layer, "op", n.type)) for n in opaque})
        raise SpecError(
            "unsupported-export",
            f"{len(opaque)} layer(s) have no cnnscope layer type ({', '.join(ops)}): "
            + ", ".join(f"`{n.name}`" for n in opaque[:5])
            + (" ..." if len(opaque) > 5 else ""),
            hint="a spec can only hold known layer types; `cnnscope layers` lists them",
        )


def _header(graph: Graph) -> list[str]:
    return [
        f"# exported by cnnscope from {graph.source or graph.name}",
        _entry({"name": graph.name}, False),
        "input: " + _entry(list(graph.input_shape)),
    ]


def export_yaml(graph: Graph, flat: bool = False, strict: bool = False) -> str:
    """The YAML text of ``graph``; raises SpecError if a node has no cnnscope layer type.

    ``flat``: one entry per node, no blocks. ``strict``: raise instead of falling back to the
    flat form when the block form does not load back to the same graph (for tests).
    """
    _refuse_opaque(graph)
    if not flat:
        try:
            text = _Blocks(graph).text()
            problem = _differs(graph, text)
        except (CnnscopeError, _Fail) as exc:
            problem = str(exc)
        if problem is None:
            return text
        if strict:
            raise AssertionError(f"block export does not round-trip: {problem}")
    text = _flat(graph)
    try:
        problem = _differs(graph, text)
    except CnnscopeError as exc:
        where = f" (line {exc.loc.line} of the export)" if exc.loc is not None and exc.loc.line else ""
        problem = f"error[{exc.kind}]: {exc.message}{where}"
    if problem is not None:  # never write a spec that does not load back to this graph
        raise SpecError(
            "unloadable-export",
            f"`{graph.source or graph.name}` cannot be written as a spec that loads back: {problem}",
            hint="layer names must be words without spaces, commas or colons, other than `input`, "
            "and not `${...}`; rename the submodules, or analyze the module directly",
        )
    return text


def _flat(graph: Graph) -> str:
    lines = [*_header(graph), "", "layers:"]
    prev = INPUT
    for node in graph.nodes:
        d: dict[str, Any] = {"name": node.name, "type": node.type}
        d.update(node.layer.config())
        if node.inputs != (prev,):
            d["from"] = node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)
        if node.shares is not None:
            d["shares"] = node.shares
        lines.append("  - " + _entry(d))
        prev = node.name
    if graph.output != prev:
        lines.append("")
        lines.append(_entry({"output": graph.output}, False))
    return "\n".join(lines) + "\n"


def _differs(graph: Graph, text: str) -> str | None:
    from cnnscope.frontends.yaml.loader import load_spec

    g2 = load_spec(text)
    if len(g2.nodes) != len(graph.nodes):
        return f"{len(g2.nodes)} nodes instead of {len(graph.nodes)}"
    for a, b in zip(graph.nodes, g2.nodes):
        if (a.name, a.layer, a.inputs, a.shares) != (b.name, b.layer, b.inputs, b.shares):
            return f"node `{a.name}` loads back as `{b.name}` ({b.type} from {list(b.inputs)})"
    if g2.output != graph.output:
        return f"output `{g2.output}` instead of `{graph.output}`"
    return None


# -- the block form --------------------------------------------------------------------------


class _Fail(Exception):
    """This grouping cannot be expressed; the caller tries a smaller one."""


@dataclass
class _Ent:
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
class _Group:
    prefix: str  # "layer1.0."
    nodes: list[Node]
    ext: str = ""  # its one external input
    closed: bool = False  # one input, only its last node used outside
    body: list[_Ent] = field(default_factory=list)
    inst: _Ent | None = None  # set when it is written as a block instance


def _norm(name: str, v: Any) -> Any:
    if isinstance(v, tuple):
        return v[0] if len(set(v)) == 1 and v and name not in _LIST_FIELDS else [_norm("", x) for x in v]
    return v


def _ident(text: str) -> str:
    s = re.sub(r"\W", "_", text).strip("_").lower() or "b"
    return f"b_{s}" if s[0].isdigit() else s


_RESERVED = {"name", "from", "repeat", "when", "block", "i", "shares", "type", "input"}


class _Blocks:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.defs: dict[str, tuple[list[Any], list[dict[str, Any]]]] = {}  # name -> (args, layers)
        self.groups: dict[str, _Group] = {}
        self.classes: dict[str, str] = dict(graph.extras.get("module_classes", {}) or {})
        used: dict[str, set[str]] = {}
        for n in graph.nodes:
            for i in n.inputs:
                used.setdefault(i, set()).add(n.name)
            if n.shares:
                used.setdefault(n.shares, set()).add(n.name)
        used.setdefault(graph.output, set()).add("")
        self.used = used
        order = {n.name: k for k, n in enumerate(graph.nodes)}
        members: dict[str, list[Node]] = {}
        for n in graph.nodes:
            parts = n.name.split(".")
            for d in range(1, len(parts)):
                members.setdefault(".".join(parts[:d]) + ".", []).append(n)
        for prefix, ns in members.items():
            if len(ns) < 2 or order[ns[-1].name] - order[ns[0].name] != len(ns) - 1:
                continue  # a block instance is a contiguous run of at least two nodes
            g = _Group(prefix, ns)
            names = {n.name for n in ns}
            ext = {i for n in ns for i in n.inputs if i not in names}
            outside = [n.name for n in ns if any(u not in names for u in used.get(n.name, ()))]
            shares_ok = all((n.shares is None or n.shares in names) for n in ns) and not any(
                m.shares in names for m in graph.nodes if m.name not in names
            )
            if len(ext) == 1 and outside == [ns[-1].name] and shares_ok:
                g.ext, g.closed = ext.pop(), True
            self.groups[prefix] = g

    # -- scopes

    def scope(self, prefix: str, nodes: list[Node]) -> list[_Ent]:
        ents: list[_Ent] = []
        k = 0
        while k < len(nodes):
            n = nodes[k]
            local = n.name[len(prefix) :]
            head = local.split(".", 1)[0]
            g = self.groups.get(prefix + head + ".") if "." in local else None
            if g is not None and g.nodes[0] is n:
                if g.inst is not None:
                    ents.append(replace(g.inst, name=head, nodes=frozenset(x.name for x in g.nodes)))
                else:  # inlined: its entries, named from this scope
                    ents.extend(replace(e, name=f"{head}.{e.name}") for e in g.body)
                k += len(g.nodes)
                continue
            full = {f.name: _norm(f.name, getattr(n.layer, f.name)) for f in n.layer.fields()}
            shown = n.layer.config()
            vals = {f: shown.get(f, v) for f, v in full.items()}
            ents.append(
                _Ent(
                    local,
                    "type",
                    n.type,
                    vals,
                    frozenset(set(full) - set(shown)),
                    n.inputs,
                    n.name,
                    n.shares,
                    nodes=frozenset([n.name]),
                )
            )
            k += 1
        return self.compact(ents)

    def compact(self, ents: list[_Ent]) -> list[_Ent]:
        """Runs named P.0 .. P.k-1 of one block (or one layer type), each fed by the one
        before, become one entry with ``repeat: k``."""
        out: list[_Ent] = []
        k = 0
        while k < len(ents):
            e = ents[k]
            m = re.fullmatch(r"(.+)\.0", e.name)
            run = [e]
            if m and e.shares is None and e.repeat == 1:
                base = m.group(1)
                while k + len(run) < len(ents):
                    nxt = ents[k + len(run)]
                    prev = run[-1]
                    if (
                        nxt.name != f"{base}.{len(run)}"
                        or (nxt.head, nxt.what, nxt.shares, nxt.repeat) != (e.head, e.what, None, 1)
                        or nxt.inputs != (prev.out,)
                        or not self.used.get(prev.out, set()) <= nxt.nodes
                    ):
                        break
                    run.append(nxt)
                taken = {x.name for x in run}
                clash = any(x.name == base or x.name.startswith(base + ".") for x in ents if x.name not in taken)
                if len(run) >= 2 and not clash:
                    vals: dict[str, Any] = {}
                    hide = set()
                    for key in e.values:
                        col = [x.values[key] for x in run]
                        bound = [c for c, x in zip(col, run) if key not in x.free]
                        if not bound or all(_key(c) == _key(bound[0]) for c in bound):
                            vals[key] = bound[0] if bound else col[0]
                            if all(key in x.hide or key in x.free for x in run) and (
                                not bound or all(key in x.hide for x in run)
                            ):
                                hide.add(key)
                        else:
                            vals[key] = _by_index([bound[0] if key in x.free else c for c, x in zip(col, run)])
                    nodes = frozenset().union(*(x.nodes for x in run))
                    out.append(
                        replace(
                            e,
                            free=frozenset(),
                            name=base,
                            values=vals,
                            hide=frozenset(hide),
                            out=run[-1].out,
                            repeat=len(run),
                            nodes=nodes,
                        )
                    )
                    k += len(run)
                    continue
            out.append(e)
            k += 1
        return out

    # -- deciding which groups are block instances

    def kind(self, g: _Group) -> str:
        cls = self.classes.get(g.prefix[:-1])
        if cls in ("Sequential", "ModuleList", "ModuleDict"):
            return ""  # containers: one block only for the same structure
        if cls:
            return "class:" + cls
        blk = g.nodes[-1].block
        return "block:" + blk if blk else ""

    def build(self) -> list[_Ent]:
        by_depth: dict[int, list[_Group]] = {}
        for g in self.groups.values():
            by_depth.setdefault(g.prefix.count("."), []).append(g)
        for depth in sorted(by_depth, reverse=True):
            level = by_depth[depth]
            for g in level:
                g.body = self.scope(g.prefix, g.nodes)
            cands = [g for g in level if g.closed and not _list_of_blocks(g.body)]
            parts: dict[str, list[_Group]] = {}
            for g in cands:
                # no class known: groups at the same path up to numbers (layer1.0, layer2.3)
                parts.setdefault(self.kind(g) or "path:" + re.sub(r"\d+", "#", g.prefix), []).append(g)
            for gs in parts.values():
                if len(gs) < 2:
                    continue
                try:
                    self.define(gs)
                except _Fail:
                    sub: dict[str, list[_Group]] = {}
                    for g in gs:
                        sub.setdefault(_shape_key(g.body), []).append(g)
                    for gs2 in sub.values():
                        if len(gs2) >= 2:
                            with contextlib.suppress(_Fail):
                                self.define(gs2)
        return self.scope("", list(self.graph.nodes))

    def define(self, gs: list[_Group]) -> None:
        """One block definition for the groups ``gs``; their instance entries."""
        locs = [self.localize(g.body, g.ext) for g in gs]
        ref = max(locs, key=len)
        names = [d["name"] for d in ref]
        index = {n: k for k, n in enumerate(names)}
        for loc in locs:  # every member's entries: a subsequence of the largest one's
            pos = [index.get(d["name"], -1) for d in loc]
            if -1 in pos or pos != sorted(pos):
                raise _Fail("members do not line up")
        per: list[list[dict[str, Any] | None]] = []
        for nm in names:
            per.append([next((d for d in loc if d["name"] == nm), None) for loc in locs])
        args: list[tuple[str, list[Any]]] = []  # argument name, value per member
        taken: set[str] = set()
        self.arg_used: dict[str, set[int]] = {}

        def new_arg(base: str, col: list[Any]) -> str:
            nm = _ident(base)
            if nm in _RESERVED:
                nm = f"{nm}_"
            name, k = nm, 2
            while name in taken:
                name, k = f"{nm}_{k}", k + 1
            taken.add(name)
            args.append((name, col))
            self.arg_used[name] = set()
            return name

        layers: list[dict[str, Any]] = []
        for nm, col in zip(names, per):
            present = [d is not None for d in col]
            ds = [d for d in col if d is not None]
            first = ds[0]
            if any(
                (d["head"], d["what"], set(d["values"]), len(d["from"]), d["repeat"])
                != (first["head"], first["what"], set(first["values"]), len(first["from"]), first["repeat"])
                for d in ds
            ):
                raise _Fail(f"`{nm}` differs in kind between members")
            out: dict[str, Any] = {"name": nm, first["head"]: first["what"]}
            if first["repeat"] != 1:
                out["repeat"] = first["repeat"]
            if not all(present):
                flag = next((a for a, c in args if c == present), None)
                flag = flag or new_arg(nm.split(".")[0], present)
                self.arg_used[flag].update(range(len(gs)))
                out["when"] = "${" + flag + "}"
            for key in first["values"]:
                v = self.param([d["values"][key] if d else None for d in col], present, args, key, new_arg)
                if isinstance(v, _Const):
                    if key in first["hide"] and all(d is None or key in d["hide"] for d in col):
                        continue
                    v = v.value
                out[key] = v
            froms = []
            for j in range(len(first["from"])):
                v = self.param([d["from"][j] if d else None for d in col], present, args, "src", new_arg)
                froms.append(v.value if isinstance(v, _Const) else v)
            if any(d["from"] != d["default_from"] for d in ds):
                out["from"] = froms[0] if len(froms) == 1 else froms
            sh = {d["shares"] for d in ds}
            if len(sh) != 1:
                raise _Fail("shares differ")
            if first["shares"]:
                out["shares"] = first["shares"]
            layers.append(out)
        # defaults: an argument's most common value, when it is shared
        spec_args: list[Any] = []
        defaults: dict[str, Any] = {}
        for a, col in args:
            used = [v for j, v in enumerate(col) if j in self.arg_used[a]] or col
            top, count = Counter(_key(v) for v in used).most_common(1)[0]
            if count >= 2 or len(used) < len(col):
                defaults[a] = next(v for v in used if _key(v) == top)
                spec_args.append({a: defaults[a]})
            else:
                spec_args.append(a)
        bname = self.block_name(gs[0])
        self.defs[bname] = (spec_args, layers)
        for j, g in enumerate(gs):
            free = frozenset(a for a, _ in args if j not in self.arg_used[a] and a in defaults)
            vals = {a: defaults[a] if a in free else col[j] for a, col in args}
            hide = frozenset(a for a in vals if a in defaults and _key(vals[a]) == _key(defaults[a]))
            g.inst = _Ent("", "block", bname, vals, hide, (g.ext,), g.nodes[-1].name, free=free)

    def param(
        self, col: list[Any], present: list[bool], args: list[tuple[str, list[Any]]], key: str, new_arg: Any
    ) -> Any:
        """A literal (``_Const``) when the present members agree, else an expression."""
        vals = [v for v, p in zip(col, present) if p]
        if all(_key(v) == _key(vals[0]) for v in vals):
            return _Const(vals[0])
        if any(isinstance(v, str) and "${" in v for v in vals) or any(v is None for v in vals):
            raise _Fail("a varying value that is an expression or null")
        here = {j for j, p in enumerate(present) if p}
        for a, acol in args:
            expr = _derive(a, [x for x, p in zip(acol, present) if p], vals)
            if expr is not None:
                self.arg_used[a] |= here
                return expr
        common = Counter(_key(v) for v in vals).most_common(1)[0][0]
        fill = next(v for v in vals if _key(v) == common)
        a = new_arg(key, [v if p else fill for v, p in zip(col, present)])
        self.arg_used[a] |= here
        return "${" + a + "}"

    def localize(self, ents: list[_Ent], ext: str) -> list[dict[str, Any]]:
        """Entries with references as names in their scope (``input`` for ``ext``)."""
        names = {e.out: e.name for e in ents}

        def loc(r: str) -> str:
            if r == ext:
                return INPUT
            if r not in names:
                raise _Fail(f"`{r}` is not visible from this scope")
            return names[r]

        out = []
        prev = ext
        for e in ents:
            out.append(
                {
                    "name": e.name,
                    "head": e.head,
                    "what": e.what,
                    "values": e.values,
                    "hide": e.hide,
                    "from": [loc(r) for r in e.inputs],
                    "default_from": [loc(prev)] if prev in names or prev == ext else [],
                    "shares": loc(e.shares) if e.shares else None,
                    "repeat": e.repeat,
                }
            )
            prev = e.out
        return out

    def block_name(self, g: _Group) -> str:
        kind = self.kind(g)
        if kind:
            base = _ident(re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", kind.split(":", 1)[1]))
        else:
            parts = [p for p in g.prefix.split(".") if p and not p.isdigit()]
            base = _ident(parts[-1] if parts else "block")
        if base in ("sequential", "module_list", "module_dict"):
            parts = [p for p in g.prefix.split(".") if p and not p.isdigit()]
            base = _ident(parts[-1]) if parts else base
        known = registry()
        name, k = base, 2
        while name in self.defs or name in known:
            name, k = f"{base}_{k}", k + 1
        return name

    # -- text

    def text(self) -> str:
        top = self.build()
        lines = _header(self.graph)
        if self.defs:
            lines += ["", "blocks:"]
            for bname, (args, layers) in self.defs.items():
                lines.append(f"  {bname}:")
                if args:
                    lines.append("    args: " + _entry(args))
                lines.append("    layers:")
                lines += ["      - " + _entry(d) for d in layers]
        lines += ["", "layers:"]
        for d in self.localize(top, INPUT):
            lines.append("  - " + _entry(_written(d)))
        if self.graph.output != top[-1].out:
            names = {e.out: e.name for e in top}
            lines += ["", _entry({"output": names[self.graph.output]}, False)]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Const:
    value: Any


def _key(v: Any) -> Any:
    return (type(v).__name__, repr(v))


def _derive(a: str, acol: list[Any], vals: list[Any]) -> str | None:
    """``vals`` as an expression of the argument ``a`` (values ``acol``), if it is one."""
    if [_key(x) for x in acol] == [_key(v) for v in vals]:
        return "${" + a + "}"
    if all(isinstance(x, bool) for x in acol) and len(set(acol)) == 2:
        t = {_key(v) for x, v in zip(acol, vals) if x}
        f = {_key(v) for x, v in zip(acol, vals) if not x}
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


def _by_index(col: list[Any]) -> Any:
    """The values of a repeated entry as an expression of the repeat index ``i``."""
    if any(isinstance(v, str) and "${" in v for v in col) or any(v is None for v in col):
        raise _Fail("a repeated value that is an expression or null")
    if all(isinstance(v, bool) for v in col) and col[0] and not any(col[1:]):
        return "${i == 0}"
    if all(_key(v) == _key(col[1]) for v in col[1:]):
        return "${" + f"{col[0]!r} if i == 0 else {col[1]!r}" + "}"
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in col)
    if ints and all(col[j + 1] - col[j] == col[1] - col[0] for j in range(len(col) - 1)):
        return "${" + f"{col[0]} + {col[1] - col[0]} * i" + "}"
    expr = repr(col[-1])
    for j in range(len(col) - 2, -1, -1):
        expr = f"{col[j]!r} if i == {j} else {expr}"
    return "${" + expr + "}"


def _list_of_blocks(body: list[_Ent]) -> bool:
    """A container of numbered blocks (a stage): written inline, so that it can repeat."""
    return all(e.head == "block" and (e.name.isdigit() or e.repeat > 1) for e in body)


def _shape_key(body: list[_Ent]) -> str:
    return repr([(e.name, e.head, e.what, sorted(e.values), len(e.inputs), e.repeat) for e in body])


def _written(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": d["name"], d["head"]: d["what"]}
    if d["repeat"] != 1:
        out["repeat"] = d["repeat"]
    for k, v in d["values"].items():
        if k not in d["hide"]:
            out[k] = v
    if d["from"] != d["default_from"]:
        out["from"] = d["from"][0] if len(d["from"]) == 1 else d["from"]
    if d["shares"]:
        out["shares"] = d["shares"]
    return out
