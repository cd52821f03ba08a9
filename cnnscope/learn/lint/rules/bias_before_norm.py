"""`bias-before-norm`: a bias that the following BatchNorm subtracts again."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.learn.lint.base import Hit, LintContext, channels, rule


@rule(
    "bias-before-norm",
    "warning",
    "a bias that the following BatchNorm cancels",
    "BatchNorm subtracts each channel's mean, so a per-channel bias added just before it is removed again; "
    "the parameters are dead weight (BatchNorm's own β does the job).",
    "Set `bias: false` on the convolution / linear layer.",
)
def _bias_before_norm(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if not (node.layer.learned_linear and node.layer.has_bias()):
            continue
        users = ctx.consumers.get(node.name, [])
        if users and all(ctx.graph.node(u).layer.subtracts_channel_mean() for u in users):
            c = channels(ctx.shapes[node.name])
            norm = ctx.graph.node(users[0])
            yield Hit(node, f"`{node.name}` has a bias of {c} values that `{norm.name}` ({norm.type}) cancels")
