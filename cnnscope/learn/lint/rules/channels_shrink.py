"""`channels-shrink`: fewer channels leave a coarser level of the pyramid than a finer one."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from math import prod

from cnnscope.analyze.base import trunk
from cnnscope.graph import Node
from cnnscope.layers.base import Shape
from cnnscope.learn.lint.base import Hit, LintContext, dims_text, rule


def _pixels(shape: Shape, rank: int) -> int:
    """Positions of a map of the given rank; -1 for a tensor of another rank (a flattened head)."""
    return prod(shape[2:]) if len(shape) == rank else -1


@rule(
    "channels-shrink",
    "warning",
    "fewer channels leave a coarser resolution than left the finer one",
    "A feature pyramid trades resolution for channels: each time the map shrinks, the channel count should "
    "grow so the information has somewhere to go. Fewer channels at a lower resolution is a bottleneck that "
    "throws information away. Compared: the widest tensor that leaves each resolution of the trunk, so a "
    "1×1 reduction inside a block (ResNet's bottleneck, an inception branch) and side heads are not counted.",
    "Increase out_channels at the downsampling step (commonly double them when the resolution halves).",
)
def _channels_shrink(ctx: LintContext) -> Iterator[Hit]:
    main = trunk(ctx.graph)  # what a side head computes is left out
    decoder: set[str] = set()
    leaving: dict[int, int] = {}  # pixels -> the widest tensor that leaves that resolution
    first_at: dict[int, Node] = {}
    for node in ctx.graph.nodes:
        shape = ctx.shapes[node.name]
        if len(shape) < 3 or node.name not in main:
            continue  # not a map, or a side head (GoogLeNet's auxiliary classifiers)
        px = prod(shape[2:])
        in_px = [prod(s[2:]) for s in ctx.ins(node) if len(s) == len(shape)]
        if any(i in decoder for i in node.inputs) or (in_px and px > max(in_px)):
            decoder.add(node.name)  # upsampling: a decoder follows; only the encoder is checked
            continue
        if px <= 1:
            continue  # global pooling, squeeze-excitation gates: not a pyramid level
        first_at.setdefault(px, node)
        users = [u for u in ctx.consumers.get(node.name, []) if u in main]
        if not users or any(_pixels(ctx.shapes[u], len(shape)) != px for u in users):
            leaving[px] = max(leaving.get(px, 0), shape[1])
    levels = sorted(leaving, reverse=True)
    for finer, coarser in pairwise(levels):
        before, after = leaving[finer], leaving[coarser]
        if after < before:
            first = first_at[coarser]
            yield Hit(
                first,
                f"{before} channels leave the finer level but only {after} leave the "
                f"{dims_text(ctx.shapes[first.name][2:])} level",
            )
