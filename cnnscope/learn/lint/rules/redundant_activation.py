"""`redundant-activation`: ReLU(ReLU(x)) = ReLU(x), also across a max-pool."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.learn.lint.base import Hit, LintContext, rule


@rule(
    "redundant-activation",
    "warning",
    "an activation repeated after a max-pool (or directly)",
    "Max-pooling commutes with a monotone activation and ReLU(ReLU(x)) = ReLU(x): a ReLU after a max-pool "
    "that already follows a ReLU changes nothing and costs a pass over memory.",
    "Remove the second activation.",
)
def _redundant_activation(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if not node.layer.idempotent or len(node.inputs) != 1:
            continue
        path: list[str] = []
        cur = ctx.preds(node)
        while len(cur) == 1 and cur[0].layer.commutes_with_monotone():
            path.insert(0, cur[0].name)
            cur = ctx.preds(cur[0])
        if len(cur) == 1 and cur[0].layer == node.layer:
            chain = " → ".join(f"`{n}`" for n in [cur[0].name, *path, node.name])
            yield Hit(node, f"{chain}: `{node.name}` is a no-op, its input is already {node.type}'d")
