"""Arithmetic per layer: MACs, FLOPs (= 2 x MACs) and the other ops, each in its own key.

``macs`` counts the multiply-accumulates of conv / linear / matmul layers, bias excluded
(one multiply-add = 1: torchvision's "GFLOPS", fvcore's conv/linear count). ``flops`` is
twice that (torch.utils.flop_counter's count). Everything else (bias adds, normalization,
activations, pooling, merges, interpolation) is counted per element by the rules in the
layer files and kept apart in ``other_ops``, by category; docs/conventions.md states them.
"""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Column, Context, Report, analyzer

# the order categories appear in, in columns and in totals; unknown ones follow, sorted
CATEGORIES = ("bias", "norm", "activation", "pool", "merge", "interpolate")

NOTE = (
    "MACs: multiply-accumulates of conv/linear layers, bias excluded (torchvision's GFLOPS); "
    "FLOPs = 2 x MACs (torch.utils.flop_counter); other ops (bias, norm, activation, pool, merge, "
    "interpolate) are counted apart by per-element rules, see docs/conventions.md"
)


def _ordered(cats: dict[str, int]) -> dict[str, int]:
    known = [c for c in CATEGORIES if c in cats]
    rest = sorted(c for c in cats if c not in CATEGORIES)
    return {c: cats[c] for c in (*known, *rest)}


@analyzer(
    "compute",
    order=20,
    requires=("shapes",),
    doc="MACs, FLOPs (2 x MACs) and other elementwise ops per layer, with each layer's share",
)
def run(ctx: Context, report: Report) -> None:
    total_macs = 0
    total_other: dict[str, int] = {}
    opaque: list[str] = []  # cost unknown: the totals are a lower bound
    measured: list[str] = []  # no layer type, cost measured by the dispatcher at capture
    for node in ctx.graph.nodes:
        if not node.layer.cost_known():
            opaque.append(node.name)
        elif node.layer.opaque:
            measured.append(node.name)
        macs = int(ctx.of(node, "macs", with_out=True))
        other = {k: int(v) for k, v in ctx.of(node, "other_ops", with_out=True).items() if v}
        row = report.row(node.name)
        row["macs"] = macs
        row["flops"] = 2 * macs
        row["other_ops"] = _ordered(other)
        row["other_ops_total"] = sum(other.values())
        total_macs += macs
        for k, v in other.items():
            total_other[k] = total_other.get(k, 0) + v
    for node in ctx.graph.nodes:
        row = report.row(node.name)
        row["macs_share"] = row["macs"] / total_macs if total_macs else 0.0
    totals: dict[str, Any] = {
        "macs": total_macs,
        "flops": 2 * total_macs,
        "other_ops": _ordered(total_other),
        "other_ops_total": sum(total_other.values()),
    }
    report.totals.update(totals)
    report.declare({"macs": "macs", "flops": "flops", "other_ops_total": "ops"})
    report.declare({f"other_ops.{k}": "ops" for k in total_other})
    report.add_figures(
        Column("macs", "MACs (multiply-adds, bias excluded)", "macs"),
        Column("flops", "FLOPs (= 2 × MACs)", "flops"),
        Column("other_ops_total", "other ops (bias, norm, activation, pool, merge)", "ops"),
    )
    if measured:
        report.totals["opaque"] = measured
        report.notes.append(
            f"{len(measured)} layer(s) have no cnnscope layer type; their MACs were measured by the dispatcher "
            "at capture (no receptive field, explanation or export for them)"
        )
    if opaque:
        report.totals["incomplete"] = True
        known = list(report.totals.get("unsupported", []))
        report.totals["unsupported"] = known + [n for n in opaque if n not in known]
        report.notes.append(f"{len(opaque)} layer(s) cnnscope cannot analyze count 0: the totals are a lower bound")

    if ctx.options.get("detail"):
        report.add_columns(
            Column("macs", "MACs", "macs"),
            Column("flops", "FLOPs", "flops"),
            Column("macs_share", "share", "percent", total=False),
        )
        report.add_columns(*(Column(f"other_ops.{c}", c, "ops") for c in report.totals["other_ops"]))
        report.add_columns(Column("other_ops_total", "other ops", "ops"))
        report.notes.append(NOTE)
    else:
        report.add_columns(Column("macs", "MACs", "macs"), Column("macs_share", "MAC share", "percent", total=False))
