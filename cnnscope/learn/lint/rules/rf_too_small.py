"""`rf-too-small`: global pooling over features that never saw the whole image."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.learn.lint.base import Hit, LintContext, dims_text, rule


@rule(
    "rf-too-small",
    "warning",
    "global pooling over features that never saw the whole image",
    "Global pooling averages features whose receptive field is smaller than the input: no single feature "
    "ever sees an object larger than that window, so the classifier cannot relate distant parts of the image.",
    "Add depth or downsampling before the head (stride, pooling, dilation), or use a smaller input.",
)
def _rf_too_small(ctx: LintContext) -> Iterator[Hit]:
    spatial = ctx.graph.input_shape[1:]
    for node in ctx.global_collapses():
        if not node.layer.pools:
            continue  # a flatten → linear head combines all positions itself
        prev = [ctx.rf[i] for i in node.inputs]
        if not prev or not all(r.ok for r in prev):
            continue  # already whole (a gate saw everything), or unknown after upsampling
        sizes = [r.size for r in prev]
        r = tuple(max(s[i] for s in sizes) for i in range(len(spatial)))
        if any(r[i] < spatial[i] for i in range(len(spatial))):
            yield Hit(
                node,
                f"`{node.name}` pools features with a receptive field of {dims_text(r)} "
                f"over a {dims_text(spatial)} input",
            )
