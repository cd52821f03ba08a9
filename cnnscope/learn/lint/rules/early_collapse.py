"""`early-collapse`: k×k convolutions on a 1×1 map only ever use their centre tap."""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

from cnnscope.learn.lint.base import Hit, LintContext, rule


@rule(
    "early-collapse",
    "warning",
    "convolutions with k×k kernels on a 1×1 map",
    "Once the feature map is 1×1, a k×k convolution only ever multiplies its centre tap with real data; "
    "the other k²−1 taps see zero padding, so most of its weights are wasted (the input is too small or "
    "the network downsamples too often).",
    "Use a larger input or fewer stride-2 stages, or use 1×1 convolutions / linear layers at that depth.",
)
def _early_collapse(ctx: LintContext) -> Iterator[Hit]:
    wasted = []
    for n in ctx.convolutions():
        ins = ctx.ins(n)
        step = n.layer.rf(ins)
        if len(ins[0]) > 2 and all(s == 1 for s in ins[0][2:]) and step.windowed and prod(step.kernel) > 1:
            wasted.append(n)
    if wasted:
        first = wasted[0]
        yield Hit(
            first,
            f"`{first.name}` and {len(wasted) - 1} more convolution(s) run k×k kernels on a 1×1 map"
            if len(wasted) > 1
            else f"`{first.name}` runs a k×k kernel on a 1×1 map",
        )
