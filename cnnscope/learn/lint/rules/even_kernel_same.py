"""`even-kernel-same`: `same`-style padding around an even kernel shifts features by half a pixel."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.learn.fit import node_fits
from cnnscope.learn.lint.base import Hit, LintContext, rule


@rule(
    "even-kernel-same",
    "warning",
    "`same`-style padding with an even kernel",
    "An even kernel has no centre: to keep the size PyTorch pads one pixel more on the bottom/right than on "
    "the top/left (or a symmetric pad grows the map by one), shifting features by half a pixel every layer.",
    "Use an odd kernel (3, 5, 7), or an even kernel with stride equal to it and no padding (patchify).",
)
def _even_kernel_same(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.convolutions():
        fits = node_fits(node, ctx.ins(node), ctx.shapes[node.name])
        bad = [
            w
            for w in fits
            if w.kernel % 2 == 0
            and w.stride == 1
            and (w.pad_lo or w.pad_hi)
            and (w.pad_lo != w.pad_hi or w.out != w.size)
        ]
        if bad:
            w = bad[0]
            yield Hit(
                node,
                f"`{node.name}` has an even kernel {w.kernel} padded {w.pad_lo} + {w.pad_hi}: "
                f"output {w.out} from input {w.size}",
            )
