"""`no-nonlinearity`: two learned linear maps with only linear ops between them are one map."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.graph import Node
from cnnscope.learn.lint.base import Hit, LintContext, channels, rule


def _linear_sources(ctx: LintContext, node: Node) -> list[tuple[Node, list[str]]]:
    """Learned linear layers reaching ``node`` through linear ops only, with the path between.

    The walk stops at a merge (a residual add, a concat): the layer after it also transforms
    the other branch (the skip), so the two weighted layers cannot be folded into one — a
    pre-activation ResNet's projection shortcut or MobileNetV2's residual stream is by design.
    """
    found: list[tuple[Node, list[str]]] = []
    stack: list[tuple[Node, list[str]]] = [(p, []) for p in ctx.preds(node)]
    seen: set[str] = set()
    while stack:
        p, path = stack.pop()
        if p.name in seen:
            continue
        seen.add(p.name)
        if p.layer.learned_linear:
            found.append((p, path))
        elif p.layer.linear_at_inference() and len(p.inputs) == 1:
            stack.extend((q, [p.name, *path]) for q in ctx.preds(p))
    return found


def _factorized(ctx: LintContext, src: Node, node: Node) -> bool:
    """The pair is a factorization of one layer by design, cheaper than the layer it equals:

    - a grouped or depthwise convolution next to another layer (a separable convolution, as in
      Xception and ConvNeXt, which leave out the activation on purpose);
    - narrower between the two layers than before the first and after the second (a low-rank
      linear bottleneck, as in MobileNetV2).
    """
    if any(n.layer.channel_groups() > 1 for n in (src, node)):
        return True
    c_in = channels(ctx.ins(src)[0])
    c_mid = channels(ctx.shapes[src.name])
    c_out = channels(ctx.shapes[node.name])
    return c_mid < c_in and c_mid < c_out


@rule(
    "no-nonlinearity",
    "warning",
    "two linear layers with no nonlinearity between them",
    "A composition of linear maps is one linear map: conv → conv, conv → avgpool → conv or linear → linear "
    "with nothing nonlinear between can be replaced by a single layer, so the extra depth buys no "
    "expressiveness (BatchNorm, average pooling and dropout are linear at inference).",
    "Put an activation (ReLU) between them, or merge them into one layer. Not reported: a path through a "
    "residual add or concat (the second layer also maps the skip), and factorizations by design: a "
    "grouped/depthwise convolution beside another layer (separable, as in Xception or ConvNeXt) or a linear "
    "bottleneck narrower in the middle than at both ends (low-rank, as in MobileNetV2).",
)
def _no_nonlinearity(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if not node.layer.learned_linear:
            continue
        sources = [sp for sp in _linear_sources(ctx, node) if not _factorized(ctx, sp[0], node)]
        if not sources:
            continue
        src, path = min(sources, key=lambda sp: len(sp[1]))
        chain = " → ".join(f"`{n}`" for n in [src.name, *path, node.name])
        more = f"; {len(sources) - 1} more linear path(s) reach it" if len(sources) > 1 else ""
        yield Hit(node, f"{chain}: nothing nonlinear between two {src.layer.family}/{node.layer.family} layers{more}")
