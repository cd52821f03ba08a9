"""`window-fit`: a window that does not tile its input drops the last pixels."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.layers.window import AxisFit, drops_input
from cnnscope.learn.fit import window_fits
from cnnscope.learn.lint.base import Hit, LintContext, rule


@rule(
    "window-fit",
    "warning",
    "a window does not fit its input: pixels are never seen",
    "When (input + padding − kernel) is not a multiple of the stride, the last windows stop short and the "
    "remaining rows/columns of the input are silently dropped (the lecture's 7×7 input with a 3×3 filter at "
    "stride 3).",
    "Change the input size (`cnnscope fit` lists sizes that fit), the padding, or the stride.",
)
def _window_fit(ctx: LintContext) -> Iterator[Hit]:
    by_layer: dict[str, list[AxisFit]] = {}
    for w in window_fits(ctx.graph, ctx.shapes):
        if w.lost:
            by_layer.setdefault(w.layer, []).append(w)
    for name, fits in by_layer.items():
        yield Hit(ctx.graph.node(name), f"`{name}` {drops_input(fits)}")
