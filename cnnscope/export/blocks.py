"""Finding the blocks of a graph: groups of nodes named alike (``layer1.0.``) that repeat
up to field values become one block definition with arguments and instances; runs of
instances become one entry with ``repeat:``. (One class, one job: it needs ~330 lines.)"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import replace
from typing import Any

from cnnscope.export.entries import (
    RESERVED,
    Const,
    Ent,
    Fail,
    Group,
    Local,
    by_index,
    derive,
    entry,
    header,
    ident,
    list_of_blocks,
    norm,
    shape_key,
    value_key,
    written,
)
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import registry


class Blocks:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.defs: dict[str, tuple[list[Any], list[dict[str, Any]]]] = {}  # name -> (args, layers)
        self.groups: dict[str, Group] = {}
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
            g = Group(prefix, ns)
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

    def scope(self, prefix: str, nodes: list[Node]) -> list[Ent]:
        ents: list[Ent] = []
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
            full = {name: norm(name, v) for name, v in n.layer.values().items()}
            shown = n.layer.config()
            vals = {f: shown.get(f, v) for f, v in full.items()}
            ents.append(
                Ent(
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

    def compact(self, ents: list[Ent]) -> list[Ent]:
        """Runs named P.0 .. P.k-1 of one block (or one layer type), each fed by the one
        before, become one entry with ``repeat: k``."""
        out: list[Ent] = []
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
                        if not bound or all(value_key(c) == value_key(bound[0]) for c in bound):
                            vals[key] = bound[0] if bound else col[0]
                            if all(key in x.hide or key in x.free for x in run) and (
                                not bound or all(key in x.hide for x in run)
                            ):
                                hide.add(key)
                        else:
                            vals[key] = by_index([bound[0] if key in x.free else c for c, x in zip(col, run)])
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

    def kind(self, g: Group) -> str:
        cls = self.classes.get(g.prefix[:-1])
        if cls in ("Sequential", "ModuleList", "ModuleDict"):
            return ""  # containers: one block only for the same structure
        if cls:
            return "class:" + cls
        blk = g.nodes[-1].block
        return "block:" + blk if blk else ""

    def build(self) -> list[Ent]:
        by_depth: dict[int, list[Group]] = {}
        for g in self.groups.values():
            by_depth.setdefault(g.prefix.count("."), []).append(g)
        for depth in sorted(by_depth, reverse=True):
            level = by_depth[depth]
            for g in level:
                g.body = self.scope(g.prefix, g.nodes)
            cands = [g for g in level if g.closed and not list_of_blocks(g.body)]
            parts: dict[str, list[Group]] = {}
            for g in cands:
                # no class known: groups at the same path up to numbers (layer1.0, layer2.3)
                parts.setdefault(self.kind(g) or "path:" + re.sub(r"\d+", "#", g.prefix), []).append(g)
            for gs in parts.values():
                if len(gs) < 2:
                    continue
                try:
                    self.define(gs)
                except Fail:
                    sub: dict[str, list[Group]] = {}
                    for g in gs:
                        sub.setdefault(shape_key(g.body), []).append(g)
                    for gs2 in sub.values():
                        if len(gs2) >= 2:
                            with contextlib.suppress(Fail):
                                self.define(gs2)
        return self.scope("", list(self.graph.nodes))

    def define(self, gs: list[Group]) -> None:
        """One block definition for the groups ``gs``; their instance entries."""
        locs = [self.localize(g.body, g.ext) for g in gs]
        ref = max(locs, key=len)
        names = [d.name for d in ref]
        index = {n: k for k, n in enumerate(names)}
        for loc in locs:  # every member's entries: a subsequence of the largest one's
            pos = [index.get(d.name, -1) for d in loc]
            if -1 in pos or pos != sorted(pos):
                raise Fail("members do not line up")
        per: list[list[Local | None]] = []
        for nm in names:
            per.append([next((d for d in loc if d.name == nm), None) for loc in locs])
        args: list[tuple[str, list[Any]]] = []  # argument name, value per member
        taken: set[str] = set()
        self.arg_used: dict[str, set[int]] = {}

        def new_arg(base: str, col: list[Any]) -> str:
            nm = ident(base)
            if nm in RESERVED:
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
            if any(d.kind() != first.kind() for d in ds):
                raise Fail(f"`{nm}` differs in kind between members")
            out: dict[str, Any] = {"name": nm, first.head: first.what}
            if first.repeat != 1:
                out["repeat"] = first.repeat
            if not all(present):
                flag = next((a for a, c in args if c == present), None)
                flag = flag or new_arg(nm.split(".")[0], present)
                self.arg_used[flag].update(range(len(gs)))
                out["when"] = "${" + flag + "}"
            for key in first.values:
                v = self.param([d.values[key] if d else None for d in col], present, args, key, new_arg)
                if isinstance(v, Const):
                    if key in first.hide and all(d is None or key in d.hide for d in col):
                        continue
                    v = v.value
                out[key] = v
            froms = []
            for j in range(len(first.inputs)):
                v = self.param([d.inputs[j] if d else None for d in col], present, args, "src", new_arg)
                froms.append(v.value if isinstance(v, Const) else v)
            if any(d.inputs != d.default_inputs for d in ds):
                out["from"] = froms[0] if len(froms) == 1 else froms
            sh = {d.shares for d in ds}
            if len(sh) != 1:
                raise Fail("shares differ")
            if first.shares:
                out["shares"] = first.shares
            layers.append(out)
        # defaults: an argument's most common value, when it is shared
        spec_args: list[Any] = []
        defaults: dict[str, Any] = {}
        for a, col in args:
            used = [v for j, v in enumerate(col) if j in self.arg_used[a]] or col
            top, count = Counter(value_key(v) for v in used).most_common(1)[0]
            if count >= 2 or len(used) < len(col):
                defaults[a] = next(v for v in used if value_key(v) == top)
                spec_args.append({a: defaults[a]})
            else:
                spec_args.append(a)
        bname = self.block_name(gs[0])
        self.defs[bname] = (spec_args, layers)
        for j, g in enumerate(gs):
            free = frozenset(a for a, _ in args if j not in self.arg_used[a] and a in defaults)
            vals = {a: defaults[a] if a in free else col[j] for a, col in args}
            hide = frozenset(a for a in vals if a in defaults and value_key(vals[a]) == value_key(defaults[a]))
            g.inst = Ent("", "block", bname, vals, hide, (g.ext,), g.nodes[-1].name, free=free)

    def param(
        self, col: list[Any], present: list[bool], args: list[tuple[str, list[Any]]], key: str, new_arg: Any
    ) -> Any:
        """A literal (``Const``) when the present members agree, else an expression."""
        vals = [v for v, p in zip(col, present) if p]
        if all(value_key(v) == value_key(vals[0]) for v in vals):
            return Const(vals[0])
        if any(isinstance(v, str) and "${" in v for v in vals) or any(v is None for v in vals):
            raise Fail("a varying value that is an expression or null")
        here = {j for j, p in enumerate(present) if p}
        for a, acol in args:
            expr = derive(a, [x for x, p in zip(acol, present) if p], vals)
            if expr is not None:
                self.arg_used[a] |= here
                return expr
        common = Counter(value_key(v) for v in vals).most_common(1)[0][0]
        fill = next(v for v in vals if value_key(v) == common)
        a = new_arg(key, [v if p else fill for v, p in zip(col, present)])
        self.arg_used[a] |= here
        return "${" + a + "}"

    def localize(self, ents: list[Ent], ext: str) -> list[Local]:
        """Entries with references as names in their scope (``input`` for ``ext``)."""
        names = {e.out: e.name for e in ents}

        def loc(r: str) -> str:
            if r == ext:
                return INPUT
            if r not in names:
                raise Fail(f"`{r}` is not visible from this scope")
            return names[r]

        out = []
        prev = ext
        for e in ents:
            out.append(
                Local(
                    e.name,
                    e.head,
                    e.what,
                    e.values,
                    e.hide,
                    [loc(r) for r in e.inputs],
                    [loc(prev)] if prev in names or prev == ext else [],
                    loc(e.shares) if e.shares else None,
                    e.repeat,
                )
            )
            prev = e.out
        return out

    def block_name(self, g: Group) -> str:
        kind = self.kind(g)
        if kind:
            base = ident(re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", kind.split(":", 1)[1]))
        else:
            parts = [p for p in g.prefix.split(".") if p and not p.isdigit()]
            base = ident(parts[-1] if parts else "block")
        if base in ("sequential", "module_list", "module_dict"):
            parts = [p for p in g.prefix.split(".") if p and not p.isdigit()]
            base = ident(parts[-1]) if parts else base
        known = registry()
        name, k = base, 2
        while name in self.defs or name in known:
            name, k = f"{base}_{k}", k + 1
        return name

    # -- text

    def text(self) -> str:
        top = self.build()
        lines = header(self.graph)
        if self.defs:
            lines += ["", "blocks:"]
            for bname, (args, layers) in self.defs.items():
                lines.append(f"  {bname}:")
                if args:
                    lines.append("    args: " + entry(args))
                lines.append("    layers:")
                lines += ["      - " + entry(d) for d in layers]
        lines += ["", "layers:"]
        for d in self.localize(top, INPUT):
            lines.append("  - " + entry(written(d)))
        if self.graph.output != top[-1].out:
            names = {e.out: e.name for e in top}
            lines += ["", entry({"output": names[self.graph.output]}, False)]
        return "\n".join(lines) + "\n"
