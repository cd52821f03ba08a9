"""`aliased-downsampling`: strided layers without a low-pass before a head that claims shift invariance."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.analyze.shift import ALIASING, pixels, shift_infos
from cnnscope.learn.lint.base import Hit, LintContext, rule


@rule(
    "aliased-downsampling",
    "info",
    "strided layers without a low-pass filter, before a head that pools for shift invariance",
    "Global pooling makes the head claim shift invariance, but a strided conv or pool keeps one position in s "
    "with nothing removing the frequencies above the new sampling rate: they alias, so the network is invariant "
    "only to shifts by multiples of its cumulative stride, and a one-pixel shift of the image can change the "
    "prediction (Zhang, ICML 2019; `cnnscope shift --empirical` measures it). Published CNNs do this, hence info.",
    "Anti-alias each downsampling step (blur-pool): a fixed low-pass filter just before the stride — an avgpool "
    "with kernel 2–3 and stride 1, then the strided layer (for max-pooling: max-pool with stride 1, blur, then "
    "subsample) — or downsample with an avgpool whose kernel is at least its stride.",
)
def _aliased_downsampling(ctx: LintContext) -> Iterator[Hit]:
    heads = [n for n in ctx.global_collapses() if n.layer.pools]
    if not heads or len(ctx.graph.input_shape) < 2:
        return
    infos = shift_infos(ctx.graph, ctx.shapes)
    for head in heads:
        info = infos[head.name]
        strided = [ctx.graph.node(n) for n in info.set_by]
        aliased = [n for n in strided if infos[n.name].aliasing == ALIASING]
        if not aliased:
            continue
        first = aliased[0]
        more = f" and {len(aliased) - 1} more strided layer(s)" if len(aliased) > 1 else ""
        yield Hit(
            first,
            f"`{first.name}`{more} subsample{'' if more else 's'} without a low-pass filter before "
            f"{'them' if more else 'it'}, yet `{head.name}` pools "
            f"for shift invariance: the network is invariant only to shifts of {pixels(info.lattice)}",
        )
