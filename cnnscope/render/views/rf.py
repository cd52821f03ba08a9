"""Receptive fields (``cnnscope rf``) as a document: per layer and per spatial dim, the growth
chart a terminal shows, and with --erf the measured effective field."""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.analyze.rf import dim_names
from cnnscope.render.document import Block, Document, Text
from cnnscope.render.rf_chart import erf_heatmap, erf_markdown, erf_summary, growth_chart
from cnnscope.render.units import RF_WORDS
from cnnscope.render.views import report as shown


def _cells(rf: dict[str, Any]) -> dict[str, Any]:
    """A row's receptive field as the table's four cells (size, stride, padding, coverage)."""
    if rf["status"] == "ok":
        cov = rf["coverage"]
        return {
            "size": rf["size"],
            "stride": rf["stride"],
            "padding": rf["padding"],
            "coverage": min(cov) if cov else None,
        }
    if rf["status"] == "whole_input":
        return {"size": RF_WORDS["whole_input"], "stride": None, "padding": None, "coverage": 1.0}
    return {"size": RF_WORDS["unsupported"], "stride": None, "padding": None, "coverage": None}


def display(report: Report, spatial: list[int]) -> Report:
    """One column per quantity, its dims side by side (``RF H×W``), and where the field first
    covers the whole input."""
    label = "×".join(dim_names(len(spatial)))
    rows = [{**row, **{f"rf_{k}": v for k, v in _cells(row["rf"]).items()}} for row in report.rows]
    cols = shown.columns(
        *shown.LAYER,
        ("rf_size", f"RF {label}".strip(), "dims"),
        ("rf_stride", f"stride {label}".strip(), "dims"),
        ("rf_padding", f"padding {label}".strip(), "dims"),
        ("rf_coverage", "sees of input", "percent"),
    )
    reached = report.totals.get("rf_reaches_input_at")
    size = "×".join(map(str, spatial))
    reach = (
        f"the receptive field first covers the whole {size} input at `{reached}`"
        if reached
        else f"no layer's receptive field covers the whole {size} input"
    )
    return shown.display(report, rows, cols, [*report.notes, reach])


def document(report: Report, erf: Any = None, columns: int | None = None) -> Document:
    """``report``: the rf analysis (with ``meta["erf"]`` when measured); ``erf``: the measured
    effective field (``cnnscope.profile.erf.ErfResult``); ``columns``: the terminal's width the
    charts fit (None: a pipe)."""
    spatial = list(report.input_shape[2:])
    more: list[Block] = shown.terminal(growth_chart(report.rows, spatial, columns=columns))
    if erf is not None:
        first, *rest = erf_summary(erf.to_json())
        more += shown.terminal([(first, "bold"), *((line, "") for line in rest)])
        more += shown.terminal(erf_heatmap(erf.grid, max_cols=min(64, (columns or 80) - 2)))[1:]
        more.append(Text(erf_markdown(erf.to_json()).rstrip("\n"), "markdown"))
    return shown.document(display(report, spatial), shown.data(report), f"{report.model}: receptive field", more)
