"""Parameter counts per layer: trainable, frozen, and buffers (never counted as params)."""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Column, Context, Report, analyzer


@analyzer("params", order=10, requires=("shapes",), doc="parameters (trainable / non-trainable) and buffers")
def run(ctx: Context, report: Report) -> None:
    report.add_columns(
        Column("params", "params"),
        Column("trainable_params", "trainable"),
        Column("buffers", "buffers"),
    )
    totals: dict[str, Any] = {"params": 0, "trainable_params": 0, "non_trainable_params": 0, "buffers": 0}
    for node in ctx.graph.nodes:
        row = report.row(node.name)
        if node.shares is not None:
            row.update(params=0, trainable_params=0, non_trainable_params=0, buffers=0, shares=node.shares)
            continue
        pc = ctx.of(node, "params")
        row["params"] = pc.total
        row["trainable_params"] = pc.trainable
        row["non_trainable_params"] = pc.non_trainable
        row["buffers"] = pc.buffers
        totals["params"] += pc.total
        totals["trainable_params"] += pc.trainable
        totals["non_trainable_params"] += pc.non_trainable
        totals["buffers"] += pc.buffers
    # parameters the forward pass never reaches (GoogLeNet's aux heads in eval, a branch not
    # taken) are still the model's: counted in the totals, and named apart
    unused = ctx.graph.extras.get("unused_params")
    if unused:
        totals["params"] += unused["trainable"] + unused["non_trainable"]
        totals["trainable_params"] += unused["trainable"]
        totals["non_trainable_params"] += unused["non_trainable"]
        totals["unused_params"] = unused["trainable"] + unused["non_trainable"]
        totals["unused_modules"] = dict(unused["modules"])
        mods = list(unused["modules"])
        report.notes.append(
            "parameters the forward pass never reaches are counted in the totals (unused_params): "
            + ", ".join(mods[:4])
            + (" …" if len(mods) > 4 else "")
        )
    report.totals.update(totals)
    report.declare({k: "count" for k in totals if k != "unused_modules"})
