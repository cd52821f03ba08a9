"""The expansion: a spec's entries (layer entries, block instances, ``repeat:``, ``when:``)
-> the flat list of layers the graph is built from, each with its global name, its inputs
and its location. The up-front counts are ``count.py``'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnscope.errors import CnnscopeError, Location, SpecError, did_you_mean
from cnnscope.frontends.yaml.blocks import BlockDef
from cnnscope.frontends.yaml.checks import ENTRY_KEYS, _describe, _expect_map
from cnnscope.frontends.yaml.count import MAX_BLOCK_DEPTH, MAX_NODES, _Counter
from cnnscope.frontends.yaml.expr import substitute
from cnnscope.frontends.yaml.families import load_family
from cnnscope.frontends.yaml.make import _sub, make_layer
from cnnscope.frontends.yaml.scope import _Pending, _Ref, _Scope
from cnnscope.frontends.yaml.yamlio import LList, LMap
from cnnscope.graph import INPUT
from cnnscope.layers.base import Layer, lookup

_NOT_FIELDS = frozenset(("type", *ENTRY_KEYS))  # an entry's keys that are not its layer's fields
_NOT_IN_NAMES = frozenset(" \t\n,:")


class _Expander(_Counter):
    def __init__(self, blocks: dict[str, BlockDef], file: str) -> None:
        super().__init__(blocks)
        self.file = file
        self.pending: list[_Pending] = []
        self.stack: list[str] = []
        self.layer_cache: dict[Any, Layer] = {}
        self.instances: list[tuple[str, str, Location | None]] = []  # (block, instance name, entry loc)
        self.made: dict[str, tuple[Location | None, str | None]] = {}  # global name -> where, what made it

    def fresh(self, scope: _Scope, base: str) -> str:
        n = scope.counters.get(base, 0) + 1
        scope.counters[base] = n
        name = f"{base}_{n}"
        while name in scope.names:
            n += 1
            scope.counters[base] = n
            name = f"{base}_{n}"
        return name

    def expand(self, entries: LList, scope: _Scope, vars: Mapping[str, Any], prev: Any) -> Any:
        """Expand a list of entries; returns the last output (global name or _Ref)."""
        for idx, entry in enumerate(entries):
            # a mapping knows where it is; the list's item location serves the others
            loc = None if entry.__class__ is LMap and entry.loc is not None else entries.item_loc(idx)
            prev = self.entry(entry, loc, scope, vars, prev)
        return prev

    def entry(self, entry: Any, loc: Location | None, scope: _Scope, vars: Mapping[str, Any], prev: Any) -> Any:
        if isinstance(entry, str):
            m = LMap(loc)
            if entry in self.blocks:
                m["block"] = entry
            else:
                m["type"] = entry
            if loc is not None:
                m.key_locs["type"] = m.val_locs["type"] = loc
                m.key_locs["block"] = m.val_locs["block"] = loc
            entry = m
        if not isinstance(entry, dict):
            raise SpecError(
                "wrong-type",
                f"a layer entry is a type name or a mapping with `type:` or `block:`, got {_describe(entry)}",
                loc,
            )
        e = _expect_map(entry, "a layer entry", loc)
        eloc = e.loc or loc
        if "type" in e and "block" in e:
            raise SpecError("bad-entry", "an entry has either `type:` or `block:`, not both", e.key_loc("block"))
        if "type" not in e and "block" not in e:
            raise SpecError(
                "missing-field",
                "a layer entry needs `type:` (a layer type) or `block:` (a block name)",
                eloc,
                "`cnnscope layers` lists the types",
            )
        if "block" in e and "shares" in e:
            raise SpecError(
                "bad-shares",
                "`shares:` applies to a layer, not to a block instance",
                e.key_loc("shares"),
                "put `shares:` on the layers inside the block",
            )
        if "when" in e:
            cond = _sub(e, "when", vars)
            if not isinstance(cond, bool):
                raise SpecError("wrong-type", f"`when` must be true or false, got {_describe(cond)}", e.val_loc("when"))
            if not cond:
                return prev
        repeat = 1
        if "repeat" in e:
            repeat = _sub(e, "repeat", vars)
            if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 0:
                raise SpecError(
                    "bad-value",
                    f"`repeat` must be a non-negative integer, got {_describe(repeat)}",
                    e.val_loc("repeat"),
                )
            if repeat > MAX_NODES:
                raise SpecError(
                    "too-large",
                    f"`repeat: {repeat:,}` is more layers than cnnscope takes (at most {MAX_NODES:,})",
                    e.val_loc("repeat"),
                )
            each = self.block_min(e["block"]) if isinstance(e.get("block"), str) and e["block"] in self.blocks else 1
            if len(self.pending) + repeat * each > MAX_NODES:
                raise SpecError(
                    "too-large",
                    f"`repeat: {repeat:,}` of {each:,} layer{'s' if each != 1 else ''} each makes "
                    f"{len(self.pending) + repeat * each:,} layers in all; cnnscope takes at most {MAX_NODES:,}",
                    e.val_loc("repeat"),
                )
        name = e.get("name")
        templated = isinstance(name, str) and "${" in name  # `name: "block-${i + 1}"`, one per repeat
        if name is not None and not templated:
            self.check_name(name, e, scope)
        inputs = self.inputs_of(e, scope, vars, prev)
        is_block = "block" in e
        base = name or self.fresh(scope, str(e["block"] if is_block else e["type"]))
        out: Any = prev
        for i in range(repeat):
            ivars = {**vars, "i": i}
            if templated:
                local = substitute(name, ivars, e.val_loc("name"))
                self.check_name(local, e, scope)
            else:
                local = base if repeat == 1 else f"{base}.{i}"
            src = inputs if i == 0 else [out]
            out = self.instance(e, local, scope, ivars, src) if is_block else self.layer(e, local, scope, ivars, src)
            scope.names[local] = out
        if not templated and (repeat > 1 or repeat == 0):
            scope.names[base] = out
        return out

    def check_name(self, name: Any, e: LMap, scope: _Scope) -> None:
        if not isinstance(name, str) or not name or not _NOT_IN_NAMES.isdisjoint(name):
            raise SpecError(
                "bad-name", f"a layer name must be a non-empty word, got {_describe(name)}", e.val_loc("name")
            )
        if name == INPUT or name in ((scope.block and self.blocks[scope.block].inputs) or []):
            raise SpecError("bad-name", f"`{name}` names the input; choose another name", e.val_loc("name"))
        if name in scope.names:
            raise SpecError("duplicate-name", f"layer name `{name}` is used twice", e.val_loc("name"))

    def inputs_of(self, e: LMap, scope: _Scope, vars: Mapping[str, Any], prev: Any) -> list[Any]:
        if "from" not in e:
            return [prev]
        raw = _sub(e, "from", vars)
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
            raise SpecError(
                "wrong-type", f"`from` must name one layer or a list of layers, got {_describe(raw)}", e.val_loc("from")
            )
        if isinstance(raw, LList):
            return [_Ref(scope, x, raw.item_loc(k) or e.val_loc("from")) for k, x in enumerate(items)]
        return [_Ref(scope, x, None, "from", e) for x in items]  # located at `from:` when asked

    def layer(self, e: LMap, local: str, scope: _Scope, vars: Mapping[str, Any], inputs: list[Any]) -> str:
        tname = e["type"]
        if not isinstance(tname, str):
            raise SpecError(
                "wrong-type", f"`type` must be a layer type name, got {_describe(tname)}", e.val_loc("type")
            )
        try:
            load_family(tname)
            cls = lookup(tname)
        except CnnscopeError as exc:
            raise exc.with_loc(e.val_loc("type")) from None
        raw = {k: v for k, v in e.items() if k not in _NOT_FIELDS}
        layer = make_layer(cls, raw, e, vars, self.layer_cache)
        n_in = len(inputs)
        if n_in < cls.min_inputs or (cls.max_inputs is not None and n_in > cls.max_inputs):
            want = (
                f"{cls.min_inputs}"
                if cls.max_inputs == cls.min_inputs
                else f"at least {cls.min_inputs}"
                if cls.max_inputs is None
                else f"{cls.min_inputs} to {cls.max_inputs}"
            )
            raise SpecError(
                "wrong-arity",
                f"`{tname}` takes {want} input{'s' if want != '1' else ''}, got {n_in}",
                e.val_loc("from") if "from" in e else e.loc,
                "list the branches to merge with `from: [a, b]`" if cls.min_inputs > 1 else None,
            )
        gname = scope.prefix + local
        shares = None
        if "shares" in e:
            target = _sub(e, "shares", vars)
            if not isinstance(target, str) or not target:
                raise SpecError(
                    "wrong-type",
                    f"`shares` must name one layer, got {_describe(target)}",
                    e.val_loc("shares"),
                    "e.g. `shares: conv1`: this layer reuses conv1's parameters",
                )
            if target == INPUT or target in ((scope.block and self.blocks[scope.block].inputs) or []):
                raise SpecError(
                    "bad-shares", f"`shares: {target}` names an input, which has no parameters", e.val_loc("shares")
                )
            if target == local:
                raise SpecError(
                    "bad-shares", f"layer `{local}` cannot share its parameters with itself", e.val_loc("shares")
                )
            shares = _Ref(scope, target, e.val_loc("shares"), "shares")
        if gname in self.made:
            where, what = self.made[gname]
            mine = self._origin()
            raise SpecError(
                "duplicate-name",
                f"layer name `{gname}`{f' ({mine})' if mine else ''} is used twice",
                self.instances[0][2] if self.instances else (e.val_loc("name") if "name" in e else e.loc),
                f"the first `{gname}` is {what or 'the entry'} at {where}" if where else what,
            )
        self.made[gname] = (self.instances[0][2] if self.instances else e.loc, self._origin())
        self.pending.append(_Pending(gname, layer, list(inputs), e.loc, scope.block, shares))
        if len(self.pending) > MAX_NODES:
            raise SpecError("too-large", f"the spec expands to more than {MAX_NODES:,} layers", e.loc)
        return gname

    def _origin(self) -> str | None:
        if not self.instances:
            return None
        block, name, _loc = self.instances[0]
        return f"generated by block `{block}` as instance `{name}`"

    def instance(self, e: LMap, local: str, scope: _Scope, vars: Mapping[str, Any], inputs: list[Any]) -> Any:
        bname = e["block"]
        bloc = e.val_loc("block")
        if not isinstance(bname, str) or bname not in self.blocks:
            raise SpecError(
                "unknown-block",
                f"unknown block `{bname}`{did_you_mean(str(bname), self.blocks)}",
                bloc,
                "define it under `blocks:`" if not self.blocks else "known blocks: " + ", ".join(self.blocks),
            )
        bd = self.blocks[bname]
        if bname in self.stack:
            raise SpecError(
                "recursive-block",
                "block `" + "` → `".join([*self.stack[self.stack.index(bname) :], bname]) + "` instantiates itself",
                bloc,
            )
        if len(self.stack) >= MAX_BLOCK_DEPTH:
            raise SpecError("too-deep", f"blocks nest more than {MAX_BLOCK_DEPTH} levels", bloc)
        args = {k: v for k, v in e.items() if k not in ("block", *ENTRY_KEYS)}
        bvars: dict[str, Any] = {}
        for k, v in args.items():
            if k not in bd.required and k not in bd.defaults:
                known = [*bd.required, *bd.defaults]
                raise SpecError(
                    "unknown-field",
                    f"block `{bname}` has no argument `{k}`{did_you_mean(str(k), known)}",
                    e.key_loc(k),
                    ("its arguments: " + ", ".join(known)) if known else f"block `{bname}` takes no arguments",
                )
            bvars[k] = substitute(v, vars, e.val_loc(k))
        for k in bd.required:
            if k not in bvars:
                raise SpecError("missing-field", f"block `{bname}` needs the argument `{k}`", e.loc)
        for k, v in bd.defaults.items():
            if k not in bvars:
                bvars[k] = substitute(v, bvars, bd.loc)
        bvars["i"] = vars.get("i", 0)  # inside a block, `i` is this instance's repeat index
        if len(inputs) != len(bd.inputs):
            raise SpecError(
                "wrong-arity",
                f"block `{bname}` takes {len(bd.inputs)} input(s) ({', '.join(bd.inputs)}), got {len(inputs)}",
                e.val_loc("from") if "from" in e else e.loc,
            )
        inner = _Scope(prefix=f"{scope.prefix}{local}.", block=bname)
        for iname, src in zip(bd.inputs, inputs):
            inner.names[iname] = src
        self.stack.append(bname)
        self.instances.append((bname, scope.prefix + local, e.loc))
        try:
            self.refuse_if_too_large(bd.layers)
            last = self.expand(bd.layers, inner, bvars, inputs[0])
        finally:
            self.stack.pop()
            self.instances.pop()
        if bd.output is not None:
            if bd.output not in inner.names:
                raise SpecError(
                    "dangling-input",
                    f"block `{bname}` names `{bd.output}` as its output, but has no such layer"
                    + did_you_mean(bd.output, inner.names),
                    bd.output_loc,
                )
            return inner.names[bd.output]
        if any(last is src for src in inputs):
            raise SpecError("empty-spec", f"block `{bname}` adds no layer here", e.loc)
        return last
