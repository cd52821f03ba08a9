"""``verify`` (analytic figures against one real forward pass) as a document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnscope.graph import Graph
from cnnscope.render.document import NEVER, Document, Field, Table, Text
from cnnscope.render.units import count
from cnnscope.verify import Check

FIELDS = (
    Field("check", "check", priority=NEVER, wrap=True, min_width=12),
    Field("analytic", "analytic", align="right", priority=80),
    Field("torch", "torch", align="right", priority=80),
    Field("ok", "ok", priority=NEVER),
)
CSV_FIELDS = (
    Field("check", "check"),
    Field("layer", "layer"),
    Field("analytic", "analytic"),
    Field("torch", "torch"),
    Field("ok", "ok"),
)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def document(graph: Graph, checks: Sequence[Check]) -> Document:
    """One line for the shapes (and one per layer whose shape differs), one per other figure."""
    shapes = [c for c in checks if c.what == "shape"]
    bad = [c for c in shapes if not c.ok]
    rows: list[dict[str, Any]] = [
        {
            "check": "shapes",
            "analytic": f"{len(shapes)} layers",
            "torch": f"{len(shapes) - len(bad)} match",
            "ok": _yes(not bad),
        }
    ]
    rows += [{"check": f"  {c.layer}", "analytic": str(c.analytic), "torch": str(c.torch), "ok": "NO"} for c in bad]
    rows += [
        {"check": c.what, "analytic": count(c.analytic), "torch": count(c.torch), "ok": _yes(c.ok)}
        for c in checks
        if c.what != "shape"
    ]
    every = [
        {"check": c.what, "layer": c.layer, "analytic": str(c.analytic), "torch": str(c.torch), "ok": _yes(c.ok)}
        for c in checks
    ]
    notes = [Text(f"{c.what}: {c.note}", "note") for c in checks if c.note]
    if "capture" in graph.extras:
        notes.append(Text(f"captured by {graph.extras['capture']}", "note"))
    data = {
        "model": graph.name,
        "source": graph.source,
        "capture": graph.extras.get("capture", "spec"),
        "ok": all(c.ok for c in checks),
        "checks": [c.to_json() for c in checks],
    }
    table = Table(FIELDS, rows, title=f"{graph.name}: analytic vs torch", csv_fields=CSV_FIELDS)
    return Document([table, *notes], data, csv=Table(CSV_FIELDS, every))
