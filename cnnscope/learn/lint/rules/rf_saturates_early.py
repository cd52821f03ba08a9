"""`rf-saturates-early`: every unit sees the whole input long before the last convolution."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.learn.lint.base import Hit, LintContext, dims_text, rule

SATURATION_SHARE = 0.75  # theoretical fields overstate what a unit uses: only flag clear cases


@rule(
    "rf-saturates-early",
    "warning",
    "the receptive field covers the whole input long before the end",
    "Once every unit sees the whole input, more layers no longer widen the view; when more than three quarters of the "
    "convolutions come after that point, the input is probably too small for this architecture (an "
    "ImageNet network fed 32×32 images).",
    "Use a larger input, or fewer downsampling steps / layers.",
)
def _rf_saturates_early(ctx: LintContext) -> Iterator[Hit]:
    convs = ctx.convolutions()
    spatial = ctx.graph.input_shape[1:]
    for k, node in enumerate(convs):
        rf = ctx.rf[node.name]
        if rf.ok and rf.covers(spatial):
            after = len(convs) - k - 1
            if after > SATURATION_SHARE * len(convs):
                yield Hit(
                    node,
                    f"`{node.name}` already sees {dims_text(rf.size)} of the {dims_text(spatial)} input; "
                    f"{after} of {len(convs)} convolutions come after it",
                )
            return
