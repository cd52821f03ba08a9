"""The shift analysis summed up (torch-free): the whole network in a few facts (its output's
lattice, the layers that alias, leak position, or make it invariant or positional), and
``explain``'s line for one layer. The walk itself is :mod:`cnnscope.analyze._shift_lattice`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnnscope.analyze._shift_lattice import (
    ALIASING,
    ANTI_ALIASED,
    BOX_FILTERED,
    EQUIVARIANT,
    INVARIANT,
    POSITIONAL,
    ShiftInfo,
)
from cnnscope.analyze.base import trunk
from cnnscope.graph import Graph, Node
from cnnscope.layers.base import Step
from cnnscope.records import Record, record


@record
class ShiftSummary(Record):
    """The whole network in a few facts: its output's lattice and where it comes from."""

    output: ShiftInfo
    set_by: tuple[str, ...]
    aliasing: tuple[str, ...]  # strided layers without a low-pass before them
    anti_aliased: tuple[str, ...]
    leaks: tuple[str, ...]  # layers that pad with a non-circular fill
    invariant_at: str | None  # the first global pooling on the way to the output
    positional_at: str | None  # the first flatten / dense layer on a spatial map

    def line(self, graph: Graph) -> str:
        out = self.output
        strided = ", ".join(f"`{n}`" for n in self.set_by[:6]) + (
            f" and {len(self.set_by) - 6} more" if len(self.set_by) > 6 else ""
        )
        by = f", set by {strided}" if self.set_by else " (no layer subsamples)"
        head = f"`{graph.name}` output `{graph.output}`: {out.sentence()}"
        if out.status in (EQUIVARIANT, INVARIANT):
            head += by
        if self.invariant_at and out.status == INVARIANT:
            head += f"; invariant from `{self.invariant_at}` (global pooling)"
        if self.positional_at:
            head += f"; `{self.positional_at}` gives positions their own weights"
        return head

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output.to_json(),
            "set_by": list(self.set_by),
            "aliasing": list(self.aliasing),
            "anti_aliased": list(self.anti_aliased),
            "leaks_position": list(self.leaks),
            "invariant_at": self.invariant_at,
            "positional_at": self.positional_at,
        }


def summarize(graph: Graph, infos: Mapping[str, ShiftInfo]) -> ShiftSummary:
    needed = trunk(graph)
    nodes = [n for n in graph.nodes if n.name in needed]
    out = infos[graph.output]
    return ShiftSummary(
        out,
        out.set_by,
        tuple(n.name for n in nodes if infos[n.name].aliasing == ALIASING),
        tuple(n.name for n in nodes if infos[n.name].aliasing in (ANTI_ALIASED, BOX_FILTERED)),
        tuple(n.name for n in nodes if infos[n.name].leaks),
        next((n.name for n in nodes if infos[n.name].becomes == INVARIANT), None),
        next((n.name for n in nodes if infos[n.name].becomes == POSITIONAL), None),
    )


def padding_text(info: ShiftInfo) -> str | None:
    """The table's padding cell: the fill, and whether it leaks position (None: no padding)."""
    if not info.pads:
        return None
    return f"{info.fill} (leaks position)" if info.leaks else str(info.fill)


def explain_step(node: Node, infos: Mapping[str, ShiftInfo]) -> Step:
    """``explain``'s line for ``node``: which shifts it commutes with, and why (one Step)."""
    info = infos[node.name]
    if info.subsamples:
        s = "×".join(map(str, info.subsamples))
        why = {
            ALIASING: "with no low-pass filter before it: frequencies above the new rate alias",
            ANTI_ALIASED: "after a low-pass filter (anti-aliased, as a blur-pool)",
            BOX_FILTERED: "averaging a window at least as wide (a box filter, weakly anti-aliased)",
        }[info.aliasing or ALIASING]
        formula = f"stride {s} keeps one position in {s}, {why}"
    elif info.becomes == INVARIANT:
        formula = "global pooling sums every position alike: a lattice shift of the input changes nothing"
    elif info.becomes == POSITIONAL:
        formula = "each position gets weights of its own, so a shifted input gives another output"
    elif info.status == EQUIVARIANT and info.stride:
        formula = f"jump {'×'.join(map(str, info.stride))}: shifts by multiples of the cumulative stride commute"
    else:
        formula = "as its input"
    if info.leaks:
        formula += f"; its {info.fill} padding tells the border apart (circular would not)"
    return Step("shifts", formula, info.sentence())
