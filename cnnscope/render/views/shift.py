"""Translation equivariance (``cnnscope shift``) as a document: per layer the shift lattice,
aliasing and padding, and with --empirical the measured errors and their chart."""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.render.document import Block, Document
from cnnscope.render.shift_chart import chart_rows, empirical_notes, error_chart
from cnnscope.render.views import report as shown

MEASURED = (
    ("m_region", "region", "text"),
    ("m_off_shift", "off s", "count"),
    ("m_off", "error off", "float"),
    ("m_off_std", "±", "float"),
    ("m_on", "error at lattice", "float"),
    ("m_torus", "torus", "float"),
    ("m_zeros", "zero-filled", "float"),
    ("m_measured_lattice", "vanishes at", "count"),
)


def _cells(row: dict[str, Any]) -> dict[str, Any]:
    sh = row["shift"]
    out: dict[str, Any] = {
        "s_lattice": sh["lattice"] if sh["lattice"] else sh["status"],
        "s_sub": sh["aliasing"],
        "s_pad": sh["padding_text"],
        "s_text": sh["text"],
    }
    m = row.get("shift_measured")
    if m is not None:
        out.update({f"m_{k}": v for k, v in m.items() if k != "errors"})
    return out


def display(report: Report) -> Report:
    """The lattice, subsampling and padding columns; the measured ones where --empirical ran."""
    meta = report.meta.get("shift_empirical")
    rows = [{**row, **_cells(row)} for row in report.rows]
    analytic = (("s_lattice", "lattice", "dims"), ("s_sub", "subsampling", "text"), ("s_pad", "padding", "text"))
    more = MEASURED if meta is not None else (("s_text", "shifts", "text"),)
    notes = [*report.notes, *(empirical_notes(meta, report.rows) if meta is not None else [])]
    return shown.display(report, rows, shown.columns(*shown.LAYER, *analytic, *more), notes)


def document(report: Report) -> Document:
    """``report``: the shift analysis, with ``shift_measured`` rows and ``meta["shift_empirical"]``
    when --empirical measured it (then a terminal shows the error chart)."""
    more: list[Block] = []
    if report.meta.get("shift_empirical") is not None:
        more = shown.terminal(error_chart(chart_rows(report.rows)))
    return shown.document(display(report), shown.data(report), f"{report.model}: shift equivariance", more)


def plot_curves(report: Report, measured: Any) -> tuple[list[str], dict[int, list[float | None]]]:
    """The layer names and, per measured shift, the mean error of each layer's headline curve
    (what ``shift_chart.save_plot`` draws)."""
    names = [r["name"] for r in report.rows]
    curves: dict[int, list[float | None]] = {s: [] for s in measured.shifts}
    for r in report.rows:
        layer = measured.layers[r["name"]]
        c = layer.curve(*layer.headline())
        for s in measured.shifts:
            v = c.get(s)
            curves[s].append(v.mean if v is not None else None)
    return names, curves
