"""`huge-fc`: one dense layer on a large feature map holds most of the parameters."""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

from cnnscope.graph import INPUT, Node
from cnnscope.layers.base import Shape
from cnnscope.learn.lint.base import Hit, LintContext, dense, dims_text, rule

HUGE_FC_SHARE = 0.5
HUGE_FC_MIN = 1_000_000


def _feature_map(ctx: LintContext, node: Node) -> Shape | None:
    """The last shape with spatial dims before ``node``, through flatten / dropout / activations
    (layers that rearrange values or keep them in place)."""
    cur = node
    while len(cur.inputs) == 1:
        src = cur.inputs[0]
        shape = ctx.shapes[src]
        if len(shape) > 2:
            return shape
        if src == INPUT:
            return None
        p = ctx.graph.node(src)
        if not (p.layer.rearranges or p.layer.keeps_layout):
            return None
        cur = p
    return None


@rule(
    "huge-fc",
    "warning",
    "one fully connected layer on a large feature map holds most of the parameters",
    "Flattening a k×k×C map into a dense layer multiplies every position by every unit: VGG-16's first FC "
    "layer holds 103 M of its 138 M parameters. Those weights overfit and cost memory while doing little "
    "a pooled head would not.",
    "Pool the map first (global average pooling, or adaptive pooling to a small size), then a small linear.",
)
def _huge_fc(ctx: LintContext) -> Iterator[Hit]:
    total = sum(ctx.params.values())
    if total <= 0:
        return
    for node in ctx.graph.nodes:
        if not dense(node.layer):
            continue
        p = ctx.params[node.name]
        if p < HUGE_FC_MIN or p / total <= HUGE_FC_SHARE:
            continue
        fmap = _feature_map(ctx, node)
        if fmap is None or prod(fmap[2:]) <= 1:
            continue
        yield Hit(
            node,
            f"`{node.name}` holds {p:,} of {total:,} parameters ({100 * p / total:.0f}%), "
            f"fed from a {dims_text(fmap[1:])} map",
        )
