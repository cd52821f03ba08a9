"""Translation equivariance from the graph alone: the ``shift`` analyzer, and the names to
import for it (torch-free).

The walk (which input shifts each layer commutes with, where aliasing enters, where padding
leaks position) is :mod:`cnnscope.analyze._shift_lattice`, whose docstring gives the theory;
the network summed up and ``explain``'s line are :mod:`cnnscope.analyze._shift_summary`. Both
load on first use: every analytic command imports this module to register the analyzer, and
only ``shift``, ``explain`` and ``lint`` read them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cnnscope.analyze.base import Column, Context, Report, analyzer

if TYPE_CHECKING:
    from cnnscope.analyze._shift_lattice import ALIASING as ALIASING
    from cnnscope.analyze._shift_lattice import ANTI_ALIASED as ANTI_ALIASED
    from cnnscope.analyze._shift_lattice import BOX_FILTERED as BOX_FILTERED
    from cnnscope.analyze._shift_lattice import CIRCULAR as CIRCULAR
    from cnnscope.analyze._shift_lattice import EQUIVARIANT as EQUIVARIANT
    from cnnscope.analyze._shift_lattice import INVARIANT as INVARIANT
    from cnnscope.analyze._shift_lattice import MISALIGNED as MISALIGNED
    from cnnscope.analyze._shift_lattice import POSITIONAL as POSITIONAL
    from cnnscope.analyze._shift_lattice import UNKNOWN as UNKNOWN
    from cnnscope.analyze._shift_lattice import ShiftInfo as ShiftInfo
    from cnnscope.analyze._shift_lattice import pixels as pixels
    from cnnscope.analyze._shift_lattice import shift_infos as shift_infos
    from cnnscope.analyze._shift_lattice import spatial_ndim as spatial_ndim
    from cnnscope.analyze._shift_summary import ShiftSummary as ShiftSummary
    from cnnscope.analyze._shift_summary import explain_step as explain_step
    from cnnscope.analyze._shift_summary import padding_text as padding_text
    from cnnscope.analyze._shift_summary import summarize as summarize

_LATTICE = "ALIASING ANTI_ALIASED BOX_FILTERED CIRCULAR EQUIVARIANT INVARIANT MISALIGNED POSITIONAL UNKNOWN"
_LATTICE += " ShiftInfo pixels shift_infos spatial_ndim"
_SUMMARY = "ShiftSummary explain_step padding_text summarize"
_HOME = {**dict.fromkeys(_LATTICE.split(), "_shift_lattice"), **dict.fromkeys(_SUMMARY.split(), "_shift_summary")}


def __getattr__(name: str) -> Any:
    """A name of the shift analysis, imported from the module that defines it on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"cnnscope.analyze.{home}"), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


@analyzer("shift", order=70, requires=("shapes",), summary=False, doc="shift lattice, aliasing and padding per layer")
def run(ctx: Context, report: Report) -> None:
    from cnnscope.analyze._shift_lattice import shift_infos
    from cnnscope.analyze._shift_summary import padding_text, summarize

    infos = shift_infos(ctx.graph, ctx.shapes)
    report.add_columns(
        Column("shift.lattice", "lattice", "dims", total=False),
        Column("shift.aliasing", "subsampling", "text", total=False),
        Column("shift.padding_text", "padding", "text", total=False),
        Column("shift.text", "shifts", "text", total=False),
    )
    for node in ctx.graph.nodes:
        info = infos[node.name]
        row = info.to_json()
        row["padding_text"] = padding_text(info)
        report.row(node.name)["shift"] = row
        for w in info.warnings:
            report.warn(w, node, "shift-misaligned")
    summary = summarize(ctx.graph, infos)
    report.totals["shift"] = summary.to_json()
    report.notes.append(summary.line(ctx.graph))
