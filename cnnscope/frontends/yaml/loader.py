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

The reading is split along its seams: the document's structure (``checks.py``), ``blocks:``
(``blocks.py``), the up-front layer count (``count.py``), the expansion's scopes and
references (``scope.py``), the expansion itself (``expand.py``) and one layer from its fields
(``make.py``). This module holds the whole: ``load_spec``, ``spec_to_graph``, the sections
other parts read, and the ``shares:`` check made on the built graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnscope.errors import CnnscopeError, Location, SpecError, did_you_mean
from cnnscope.frontends.yaml.blocks import _parse_blocks
from cnnscope.frontends.yaml.checks import (
    TOP_KEYS,
    _check_keys,
    _describe,
    _expect_list,
    _expect_map,
    parse_input_shape,
)
from cnnscope.frontends.yaml.count import MAX_NODES
from cnnscope.frontends.yaml.expand import _Expander
from cnnscope.frontends.yaml.make import make_layer
from cnnscope.frontends.yaml.scope import _resolve, _Scope
from cnnscope.frontends.yaml.yamlio import LMap, load_yaml
from cnnscope.graph import INPUT, Graph, Node, Section
from cnnscope.perf import gc_paused

__all__ = ["MAX_NODES", "check_shares", "load_spec", "make_layer", "parse_input_shape", "spec_to_graph"]

# fields that may differ between a layer and the one whose parameters it `shares:`
SHARE_FREE_FIELDS = frozenset({"stride", "padding", "dilation", "padding_mode", "output_padding", "ceil_mode"})


def load_spec(
    text: str | bytes, file: str = "<input>", source: str | None = None, input_shape: tuple[int, ...] | None = None
) -> Graph:
    """Parse and validate a YAML spec; ``input_shape`` overrides the spec's ``input``."""
    with gc_paused():
        doc = load_yaml(text, file)
        return spec_to_graph(doc, file=file, source=source or file, input_shape=input_shape)


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
