"""A located YAML document -> a validated :class:`~cnnscope.graph.Graph`.

The spec language (docs/spec.md has the full reference)::

    name: cs231n-conv
    input: [3, 32, 32]              # channels first, no batch
    blocks:                         # optional: named, parameterized sub-graphs
      basic:
        args: [channels, {stride: 1}]
        layers:
          - {type: conv2d, out_channels: "${channels}", kernel_size: 3, stride: "${stride}"}
    layers:
      - {type: conv2d, out_channels: 10, kernel_size: 5, padding: 2}
      - relu
      - {block: basic, name: stage1, channels: 64, repeat: 2}

Every entry may have ``name``, ``from`` (one name or a list; default: the previous entry),
``repeat`` and ``when``. Errors carry the location of the value that caused them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from cnnscope.errors import CnnscopeError, Location, SpecError, did_you_mean
from cnnscope.frontends.yaml.expr import substitute
from cnnscope.frontends.yaml.families import is_type, load_family
from cnnscope.frontends.yaml.yamlio import LList, LMap, load_yaml
from cnnscope.graph import INPUT, Graph, Node, Section
from cnnscope.layers.base import Layer, lookup
from cnnscope.layers.fields import FieldError
from cnnscope.perf import gc_paused

TOP_KEYS = ("name", "input", "layers", "blocks", "output", "description", "lint", "budget", "meta")
ENTRY_KEYS = ("name", "from", "repeat", "when", "shares")
_NOT_FIELDS = frozenset(("type", *ENTRY_KEYS))  # an entry's keys that are not its layer's fields
_NOT_IN_NAMES = frozenset(" \t\n,:")
BLOCK_KEYS = ("args", "layers", "output", "inputs", "description")
MAX_NODES = 1_000_000  # refused from the arithmetic (repeat × layers per instance), before expanding
MAX_BLOCK_DEPTH = 32
_COUNT_STEPS = 2_000_000  # work the up-front layer count may do before leaving it to the expansion
# fields that may differ between a layer and the one whose parameters it `shares:`
SHARE_FREE_FIELDS = frozenset({"stride", "padding", "dilation", "padding_mode", "output_padding", "ceil_mode"})


def load_spec(
    text: str | bytes, file: str = "<input>", source: str | None = None, input_shape: tuple[int, ...] | None = None
) -> Graph:
    """Parse and validate a YAML spec; ``input_shape`` overrides the spec's ``input``."""
    with gc_paused():
        doc = load_yaml(text, file)
        return spec_to_graph(doc, file=file, source=source or file, input_shape=input_shape)


# -- helpers ----------------------------------------------------------------------------


def _loc_of(m: Any, key: Any = None) -> Location | None:
    if isinstance(m, LMap):
        return m.val_loc(key) if key is not None else m.loc
    if isinstance(m, LList):
        return m.item_loc(key) if isinstance(key, int) else m.loc
    return None


def _expect_map(v: Any, what: str, loc: Location | None) -> LMap:
    if not isinstance(v, dict):
        raise SpecError("wrong-type", f"{what} must be a mapping, got {_describe(v)}", loc)
    if not isinstance(v, LMap):  # data built in Python, not parsed
        m = LMap(loc)
        m.update(v)
        return m
    return v


def _expect_list(v: Any, what: str, loc: Location | None) -> LList:
    if not isinstance(v, list):
        raise SpecError("wrong-type", f"{what} must be a list, got {_describe(v)}", loc)
    if not isinstance(v, LList):
        lst = LList(loc)
        lst.extend(v)
        return lst
    return v


def _describe(v: Any) -> str:
    from cnnscope.layers.fields import _typename

    return _typename(v)


def _check_keys(m: LMap, allowed: tuple[str, ...], what: str, hint: str | None = None) -> None:
    for k in m:
        if k not in allowed:
            raise SpecError(
                "unknown-field",
                f"{what} has no key `{k}`{did_you_mean(str(k), allowed)}",
                m.key_loc(k),
                hint or "allowed: " + ", ".join(allowed),
            )


def parse_input_shape(v: Any, loc: Location | None) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v:
        raise SpecError(
            "wrong-type",
            f"`input` must be a list like [3, 224, 224] (channels first, no batch), got {_describe(v)}",
            loc,
        )
    for i, d in enumerate(v):
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise SpecError(
                "bad-value", f"`input` sizes must be positive integers, got {_describe(d)}", _loc_of(v, i) or loc
            )
    if len(v) > 4:
        raise SpecError(
            "bad-value", f"`input` has {len(v)} dims; cnnscope takes [C], [C, L], [C, H, W] or [C, D, H, W]", loc
        )
    return tuple(v)


# -- blocks -----------------------------------------------------------------------------


# The loader's own records are plain classes: a dataclass generates and compiles its methods
# when this module is imported, which every analytic command pays for.


class BlockDef:
    __slots__ = ("defaults", "inputs", "layers", "loc", "name", "output", "output_loc", "required")

    def __init__(
        self,
        name: str,
        required: list[str],
        defaults: dict[str, Any],
        layers: LList,
        output: str | None,
        inputs: list[str],
        loc: Location | None,
        output_loc: Location | None = None,
    ) -> None:
        self.name, self.required, self.defaults, self.layers = name, required, defaults, layers
        self.output, self.inputs, self.loc, self.output_loc = output, inputs, loc, output_loc


def _parse_blocks(raw: Any, loc: Location | None) -> dict[str, BlockDef]:
    m = _expect_map(raw, "`blocks`", loc)
    out: dict[str, BlockDef] = {}
    for bname, body in m.items():
        bloc = m.key_loc(bname)
        if not isinstance(bname, str) or not bname.replace("_", "").replace("-", "").isalnum():
            raise SpecError("bad-name", f"block name `{bname}` must be a plain identifier", bloc)
        if isinstance(bname, str) and is_type(bname):
            raise SpecError("duplicate-name", f"block `{bname}` has the name of a layer type", bloc)
        if isinstance(body, list):  # shorthand: the layers alone
            lst = body if isinstance(body, LList) else _expect_list(body, "a block", bloc)
            body = LMap(bloc)
            body["layers"] = lst
        b = _expect_map(body, f"block `{bname}`", m.val_loc(bname))
        _check_keys(b, BLOCK_KEYS, f"block `{bname}`")
        if "layers" not in b:
            raise SpecError("missing-field", f"block `{bname}` needs `layers:`", b.loc)
        required: list[str] = []
        defaults: dict[str, Any] = {}
        args = b.get("args", [])
        if isinstance(args, dict):
            args_map = _expect_map(args, "`args`", b.val_loc("args"))
            defaults.update(args_map)
        else:
            args_list = _expect_list(args, f"`args` of block `{bname}`", b.val_loc("args"))
            for i, a in enumerate(args_list):
                aloc = args_list.item_loc(i)
                if isinstance(a, str):
                    required.append(a)
                elif isinstance(a, dict) and len(a) == 1:
                    ((k, v),) = a.items()
                    defaults[k] = v
                else:
                    raise SpecError(
                        "wrong-type",
                        f"each arg of block `{bname}` is a name (required) or {{name: default}}, got {_describe(a)}",
                        aloc,
                    )
        for a in [*required, *defaults]:
            if not isinstance(a, str) or not a.isidentifier() or a in ENTRY_KEYS or a in ("block", "i"):
                raise SpecError(
                    "bad-name",
                    f"`{a}` cannot be a block argument name",
                    b.val_loc("args"),
                    "argument names are identifiers other than name, from, repeat, when, block, i",
                )
        inputs = [INPUT]
        if "inputs" in b:
            raw_in = b["inputs"]
            inputs = (
                [raw_in] if isinstance(raw_in, str) else list(_expect_list(raw_in, "`inputs`", b.val_loc("inputs")))
            )
            if not inputs or not all(isinstance(x, str) for x in inputs):
                raise SpecError("wrong-type", "`inputs` must name one or more inputs", b.val_loc("inputs"))
        lst = _expect_list(b["layers"], f"`layers` of block `{bname}`", b.val_loc("layers"))
        out_name = b.get("output")
        if out_name is not None and not isinstance(out_name, str):
            raise SpecError("wrong-type", "`output` must name a layer of the block", b.val_loc("output"))
        out[bname] = BlockDef(bname, required, defaults, lst, out_name, inputs, b.loc, b.val_loc("output"))
    return out


# -- expansion ----------------------------------------------------------------------------


class _Ref:
    """A not-yet-resolved name in a scope (forward references are allowed). Its location is
    given, or is the value of ``key`` in the entry ``at``, made when an error asks for it."""

    __slots__ = ("_loc", "at", "key", "name", "scope")

    def __init__(self, scope: _Scope, name: str, loc: Location | None, key: str = "from", at: LMap | None = None):
        self.scope, self.name, self._loc, self.key, self.at = scope, name, loc, key, at

    @property
    def loc(self) -> Location | None:
        return self.at.val_loc(self.key) if self.at is not None else self._loc


class _Scope:
    __slots__ = ("block", "counters", "names", "prefix")

    def __init__(self, prefix: str, block: str | None = None) -> None:
        self.prefix = prefix  # "" at top level, "layer1.0." inside an instance
        self.names: dict[str, Any] = {}  # local name -> global name or _Ref
        self.counters: dict[str, int] = {}
        self.block = block


class _Pending:
    __slots__ = ("block", "inputs", "layer", "loc", "name", "shares")

    def __init__(
        self, name: str, layer: Layer, inputs: list[Any], loc: Location | None, block: str | None, shares: Any = None
    ) -> None:
        self.name, self.layer, self.loc, self.block = name, layer, loc, block
        self.inputs = inputs  # global names or _Ref
        self.shares = shares  # `shares:` a layer whose parameters this one reuses (global name or _Ref)


class _Expander:
    def __init__(self, blocks: dict[str, BlockDef], file: str) -> None:
        self.blocks = blocks
        self.file = file
        self.pending: list[_Pending] = []
        self.stack: list[str] = []
        self.layer_cache: dict[Any, Layer] = {}
        self.instances: list[tuple[str, str, Location | None]] = []  # (block, instance name, entry loc)
        self.made: dict[str, tuple[Location | None, str | None]] = {}  # global name -> where, what made it
        self.min_cache: dict[str, int] = {}
        self.counts: dict[Any, int] = {}
        self.counting: set[str] = set()
        self.steps = 0

    def min_nodes(self, e: Any) -> int:
        """At least how many layers an entry makes, from its literal `repeat:` and its block's
        entries (an expression or a `when:` counts 0): the arithmetic that refuses a spec too
        large before any of it is expanded."""
        if isinstance(e, str):
            return self.block_min(e) if e in self.blocks else 1
        if not isinstance(e, dict) or "when" in e:
            return 0
        r = e.get("repeat", 1)
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            return 0
        if "block" in e:
            b = e["block"]
            return r * self.block_min(b) if isinstance(b, str) and b in self.blocks else 0
        return r

    def block_min(self, name: str) -> int:
        if name in self.min_cache:
            return self.min_cache[name]
        self.min_cache[name] = 0  # a recursive block is refused when it is instantiated
        n = 0
        for x in self.blocks[name].layers:
            n += self.min_nodes(x)
            if n > MAX_NODES:
                break
        self.min_cache[name] = n
        return n

    def count(self, entries: Any, vars: Mapping[str, Any], depth: int = 0) -> int | None:
        """The number of layers ``entries`` make, evaluated (``when``, ``repeat``, block
        arguments) but not expanded, memoized per block and arguments, so that blocks which
        multiply each other are counted in a few steps. ``None`` when it cannot tell (an error
        the expansion will report where it is, or too much work): then only the expansion's
        own checks apply. Stops early once past MAX_NODES."""
        total = 0
        for e in entries:
            if isinstance(e, str):
                e = {"block": e} if e in self.blocks else {"type": e}
            if not isinstance(e, dict) or ("type" in e) == ("block" in e):
                return None
            self.steps += 1
            if self.steps > _COUNT_STEPS or depth > MAX_BLOCK_DEPTH:
                return None
            try:
                if "when" in e:
                    cond = substitute(e["when"], vars, None)
                    if not isinstance(cond, bool):
                        return None
                    if not cond:
                        continue
                r = substitute(e["repeat"], vars, None) if "repeat" in e else 1
                if isinstance(r, bool) or not isinstance(r, int) or r < 0:
                    return None
                if "type" in e:
                    total += r
                elif r:
                    bname = e["block"]
                    if not isinstance(bname, str) or bname not in self.blocks or bname in self.counting:
                        return None
                    bd = self.blocks[bname]
                    args = {k: v for k, v in e.items() if k not in ("block", *ENTRY_KEYS)}
                    for i in range(r):
                        self.steps += 1
                        if self.steps > _COUNT_STEPS:
                            return None
                        ivars = {**vars, "i": i}
                        bvars = {k: substitute(v, ivars, None) for k, v in args.items()}
                        for k, v in bd.defaults.items():
                            if k not in bvars:
                                bvars[k] = substitute(v, bvars, None)
                        bvars["i"] = i
                        key = (bname, _frozen(bvars))
                        n = self.counts.get(key)
                        if n is None:
                            self.counting.add(bname)
                            try:
                                n = self.count(bd.layers, bvars, depth + 1)
                            finally:
                                self.counting.discard(bname)
                            if n is None:
                                return None
                            self.counts[key] = n
                        total += n
                        if total > MAX_NODES:
                            return total
            except (CnnscopeError, TypeError):
                return None
            if total > MAX_NODES:
                return total
        return total

    def refuse_if_too_large(self, entries: LList) -> None:
        """Refuse a list of entries that makes more than MAX_NODES layers, at the entry where
        the count crosses it, before expanding any."""
        n = len(self.pending)
        for idx, x in enumerate(entries):
            n += self.min_nodes(x)
            if n > MAX_NODES:
                raise SpecError(
                    "too-large",
                    f"the spec makes at least {n:,} layers by here; cnnscope takes at most {MAX_NODES:,}",
                    entries.item_loc(idx),
                    "`repeat:` multiplies the layers of its block; check the counts",
                )

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


def _frozen(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_frozen(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), _frozen(x)) for k, x in v.items()))
    return (type(v).__name__, v)  # 1 and True and 1.0 must not share a key


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _frozen_fields(raw: Mapping[str, Any]) -> Any:
    """``_frozen(raw)`` for a mapping of fields, most of them scalars (the layer cache's key)."""
    items = [(str(k), (v.__class__.__name__, v) if v.__class__ in _SCALARS else _frozen(v)) for k, v in raw.items()]
    items.sort()
    return tuple(items)


def _fixed(v: Any) -> bool:
    """``substitute`` gives ``v`` back as it is: no ``${`` in it, no list of texts or lists."""
    if isinstance(v, str):
        return "${" not in v
    return not isinstance(v, list) or not any(isinstance(x, (str, list)) for x in v)


def _sub(e: LMap, key: str, vars: Mapping[str, Any]) -> Any:
    """The value of ``key`` with its expressions evaluated (located at it, should one fail)."""
    v = e[key]
    return v if _fixed(v) else substitute(v, vars, e.val_loc(key))


_FIELDS: dict[type[Layer], dict[str, dataclasses.Field[Any]]] = {}


def make_layer(
    cls: type[Layer],
    raw: Mapping[str, Any],
    e: LMap | None = None,
    vars: Mapping[str, Any] | None = None,
    cache: dict[Any, Layer] | None = None,
) -> Layer:
    """Build one layer from raw field values; every problem is a located SpecError.

    Layers are frozen values, so identical configurations share one object when a
    ``cache`` is given (a spec of 10,000 identical convolutions builds one).
    """

    def loc_of(k: str | None) -> Location | None:
        return e.val_loc(k) if e is not None else None

    if vars is not None:
        raw = {k: v if _fixed(v) else substitute(v, vars, loc_of(k)) for k, v in raw.items()}
    key = None
    if cache is not None:
        try:
            key = (cls, _frozen_fields(raw))
            hit = cache.get(key)
        except TypeError:  # unhashable value: build it and let the kinds complain
            key, hit = None, None
        if hit is not None:
            return hit
    layer = _make_layer(cls, raw, e, loc_of)
    if key is not None and cache is not None:
        cache[key] = layer
    return layer


def _make_layer(
    cls: type[Layer], raw: Mapping[str, Any], e: LMap | None, loc_of: Callable[[str | None], Location | None]
) -> Layer:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = {f.name: f for f in cls.fields()}
    kwargs: dict[str, Any] = {}
    tname = cls.type_name
    for k, v in raw.items():
        if k not in fields:
            inferred = {"in_channels", "in_features", "num_features", "num_channels"}
            hint = (
                f"`{k}` is inferred from the input shape; leave it out"
                if k in inferred
                else "fields: " + ", ".join(fields)
            )
            raise SpecError(
                "unknown-field",
                f"{tname} has no field `{k}`{did_you_mean(str(k), fields)}",
                e.key_loc(k) if e is not None else None,
                hint,
            )
        try:
            kwargs[k] = fields[k].metadata["kind"].coerce(v, cls.ndim)
        except FieldError as exc:
            where = loc_of(k)
            if exc.index is not None and isinstance(v, LList):
                where = v.item_loc(exc.index)
            raise SpecError("bad-value", f"{tname} `{k}`: {exc}", where, exc.hint) from None
    for name, f in fields.items():
        if name in kwargs:
            continue
        if f.default is dataclasses.MISSING:
            raise SpecError(
                "missing-field",
                f"{tname} needs `{name}`" + (f" ({f.metadata.get('doc')})" if f.metadata.get("doc") else ""),
                e.loc if e is not None else None,
            )
        if f.default is not None:
            kwargs[name] = f.metadata["kind"].coerce(f.default, cls.ndim)
    layer = cls(**kwargs)
    try:
        layer.validate()
    except FieldError as exc:
        where = loc_of(exc.field) if exc.field in raw else (e.loc if e is not None else None)
        raise SpecError("bad-value", f"{tname}: {exc}", where, exc.hint) from None
    return layer


def spec_to_graph(
    doc: Any, file: str = "<input>", source: str | None = None, input_shape: tuple[int, ...] | None = None
) -> Graph:
    top = _expect_map(doc, "a spec", Location(file, 1, 1))
    _check_keys(top, TOP_KEYS, "a spec", "top-level keys: " + ", ".join(TOP_KEYS))
    name = top.get("name", None)
    if name is None:
        name = file.rsplit("/", 1)[-1].rsplit(".", 1)[0] if file and not file.startswith("<") else "model"
    if not isinstance(name, str):
        raise SpecError("wrong-type", f"`name` must be a string, got {_describe(name)}", top.val_loc("name"))
    if input_shape is None:
        if "input" not in top:
            raise SpecError(
                "missing-field",
                "the spec needs `input:`, e.g. `input: [3, 224, 224]` (channels first, no batch)",
                top.loc,
                "or pass --input 3,224,224",
            )
        input_shape = parse_input_shape(top["input"], top.val_loc("input"))
    if "layers" not in top:
        raise SpecError("missing-field", "the spec needs `layers:`, a list of layers", top.loc)
    blocks = _parse_blocks(top["blocks"], top.val_loc("blocks")) if "blocks" in top else {}
    layers = _expect_list(top["layers"], "`layers`", top.val_loc("layers"))
    if not layers:
        raise SpecError("empty-spec", "`layers` is empty: the model has no layers", top.val_loc("layers"))
    ex = _Expander(blocks, file)
    scope = _Scope(prefix="")
    ex.refuse_if_too_large(layers)
    n = ex.count(layers, {})
    if n is not None and n > MAX_NODES:
        raise SpecError(
            "too-large",
            f"the spec makes more than {MAX_NODES:,} layers (counted before expanding); cnnscope takes at most that",
            top.val_loc("layers"),
            "`repeat:` multiplies the layers of its block, and a block instance the layers of its blocks",
        )
    last = ex.expand(layers, scope, {}, INPUT)
    output = top.get("output")
    if output is not None:
        if not isinstance(output, str):
            raise SpecError("wrong-type", "`output` must name a layer", top.val_loc("output"))
        if output not in scope.names:
            raise SpecError(
                "dangling-input",
                f"`output: {output}` names no layer" + did_you_mean(output, scope.names),
                top.val_loc("output"),
            )
        out_name = _resolve(scope.names[output], set())
    else:
        out_name = _resolve(last, set())
    nodes = []
    share_locs: dict[str, Location | None] = {}
    for p in ex.pending:
        ins = tuple(x if x.__class__ is str else _resolve(x) for x in p.inputs)
        shares = None
        if p.shares is not None:
            shares = _resolve(p.shares, set())
            share_locs[p.name] = p.shares.loc
        nodes.append(Node(p.name, p.layer, ins, p.loc, p.block, shares))
    extras = {k: top[k] for k in ("meta", "description") if k in top}
    sections = {k: _section(top, k) for k in SECTIONS if k in top}
    graph = Graph.build(
        name, input_shape, nodes, out_name, source=source or file, file=file, extras=extras, sections=sections
    )
    if share_locs:
        check_shares(graph, share_locs)
    return graph


# Top-level sections that other parts read (the gate's budgets, lint's selection; the input's
# location for messages), handed over as plain values with their locations.
SECTIONS = ("budget", "lint", "input")


def _section(top: LMap, key: str) -> Section:
    value = top[key]
    key_locs = {str(k): value.key_loc(k) for k in value} if isinstance(value, LMap) else {}
    return Section(_plain(value), top.val_loc(key), key_locs)


def _plain(value: Any) -> Any:
    """A located YAML value as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def check_shares(graph: Graph, locs: Mapping[str, Location | None]) -> None:
    """Each `shares:` names a layer of the same type and fields (stride, padding, dilation may
    differ) that takes as many channels and has the same parameter count, and that does not
    share itself: tied weights must be the same weights, or the totals would be wrong."""
    shapes: dict[str, Any] = {INPUT: (1, *graph.input_shape)}
    try:
        for n in graph.nodes:
            shapes[n.name] = n.layer.out_shape([shapes[i] for i in n.inputs])
    except CnnscopeError:
        return  # a shape error: the shape analysis reports it, with its location
    for n in graph.nodes:
        if n.shares is None:
            continue
        loc = locs.get(n.name) or n.loc
        target = graph.node(n.shares)
        if target.name == n.name:
            raise SpecError("bad-shares", f"layer `{n.name}` cannot share its parameters with itself", loc)
        if target.shares is not None:
            raise SpecError(
                "bad-shares",
                f"`{n.name}` shares `{target.name}`, which itself shares `{target.shares}`",
                loc,
                f"share with the layer that owns the parameters: `shares: {target.shares}`"
                if target.shares != n.name
                else "two layers cannot share each other's parameters: one of them owns them",
            )
        a, b = n.layer, target.layer
        if a.type_name != b.type_name:
            raise SpecError(
                "bad-shares",
                f"`{n.name}` ({a.type_name}) cannot share the parameters of `{target.name}` ({b.type_name})",
                loc,
                "a layer shares the parameters of a layer of its own type",
            )
        ca = {k: v for k, v in a.config().items() if k not in SHARE_FREE_FIELDS}
        cb = {k: v for k, v in b.config().items() if k not in SHARE_FREE_FIELDS}
        ins_a = [shapes[i] for i in n.inputs]
        ins_b = [shapes[i] for i in target.inputs]
        pa, pb = a.params(ins_a), b.params(ins_b)
        chans_a = [s[1] if len(s) > 1 else None for s in ins_a]
        chans_b = [s[1] if len(s) > 1 else None for s in ins_b]
        if ca != cb or chans_a != chans_b or (pa.total, pa.buffers) != (pb.total, pb.buffers):
            diff = sorted(k for k in {*ca, *cb} if ca.get(k) != cb.get(k))
            why = (
                f"their fields differ ({', '.join(diff)})"
                if diff
                else f"they take {chans_a} and {chans_b} channels"
                if chans_a != chans_b
                else f"they have {pa.total:,} and {pb.total:,} parameters"
            )
            raise SpecError(
                "bad-shares",
                f"`{n.name}` cannot share the parameters of `{target.name}`: {why}",
                loc,
                "tied weights have the same shapes; only stride, padding, dilation and padding mode may differ",
            )


def _resolve(x: Any, seen: set[int] | None = None) -> str:
    if x.__class__ is _Ref:  # the common case: a name its scope binds to a layer
        y = x.scope.names.get(x.name)
        if y.__class__ is str:
            return y
    seen = set() if seen is None else seen
    while isinstance(x, _Ref):
        if id(x) in seen:
            raise SpecError("cycle", f"`from: {x.name}` refers back to itself", x.loc)
        seen.add(id(x))
        if x.name == INPUT and INPUT not in x.scope.names:
            return INPUT
        if x.name not in x.scope.names:
            known = [n for n in x.scope.names if not n.startswith("_")]
            raise SpecError(
                "dangling-input" if x.key == "from" else f"dangling-{x.key}",
                f"`{x.key}: {x.name}` names no layer" + did_you_mean(x.name, [*known, INPUT]),
                x.loc,
                "inside a block, names refer to that block's own layers and its inputs" if x.scope.block else None,
            )
        x = x.scope.names[x.name]
    return str(x)
