"""`linear-on-feature-map`: a linear layer on an N×C×H×W map mixes only its last dim."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.graph import INPUT, Node
from cnnscope.learn.lint.base import Hit, LintContext, dense, dims_text, rule


def _channels_first_source(ctx: LintContext, node: Node) -> str | None:
    """The convolution / pooling (or the model input) whose channels-first map reaches ``node``
    through layers that keep the layout."""
    cur = node
    while len(cur.inputs) == 1:
        src = cur.inputs[0]
        if src == INPUT:
            return "the input" if len(ctx.shapes[INPUT]) >= 4 else None
        p = ctx.graph.node(src)
        if p.layer.convolution or p.layer.pools:
            return f"`{p.name}`"
        if not p.layer.keeps_layout:
            return None
        cur = p
    return None


@rule(
    "linear-on-feature-map",
    "warning",
    "a linear layer applied straight to a convolutional feature map (a missing flatten)",
    "nn.Linear acts on the last dim only: on an N×C×H×W map it mixes the W positions of each row and keeps "
    "C and H apart, so the shapes pass and the classifier silently sees one row at a time. Its receptive "
    "field is then one row of the map, not the whole input.",
    "Add `flatten` before the linear (in_features becomes C·H·W), or pool first: "
    "`{type: adaptiveavgpool2d, output_size: 1}`, then `flatten`, then the linear.",
)
def _linear_on_feature_map(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if not dense(node.layer) or len(node.inputs) != 1:
            continue
        shape = ctx.shapes[node.inputs[0]]
        if len(shape) < 3:
            continue
        src = _channels_first_source(ctx, node)
        if src is None:
            continue
        yield Hit(
            node,
            f"`{node.name}` ({node.type}) gets the {dims_text(shape[1:])} map of {src} and mixes only "
            f"its last dim ({shape[-1]}); a flatten is missing before it",
        )
