"""Parameter counts per layer: trainable, frozen, and buffers (never counted as params)."""

from __future__ import annotations

from cnnscope.analyze.base import Column, Context, Report, analyzer


@analyzer("params", order=10, requires=("shapes",), doc="parameters (trainable / non-trainable) and buffers")
def run(ctx: Context, report: Report) -> None:
    report.add_columns(
        Column("params", "params"),
        Column("trainable_params", "trainable"),
        Column("buffers", "buffers"),
    )
    totals = {"params": 0, "trainable_params": 0, "non_trainable_params": 0, "buffers": 0}
    opaque = []
    for node in ctx.graph.nodes:
        row = report.row(node.name)
        if node.layer.opaque:
            opaque.append(node.name)
        if node.shares is not None:
            row.update(params=0, trainable_params=0, non_trainable_params=0, buffers=0, shares=node.shares)
            continue
        pc = node.layer.params(ctx.ins(node))
        row["params"] = pc.total
        row["trainable_params"] = pc.trainable
        row["non_trainable_params"] = pc.non_trainable
        row["buffers"] = pc.buffers
        totals["params"] += pc.total
        totals["trainable_params"] += pc.trainable
        totals["non_trainable_params"] += pc.non_trainable
        totals["buffers"] += pc.buffers
    report.totals.update(totals)
    if opaque:
        report.totals["incomplete"] = True
        report.totals["unsupported"] = opaque
