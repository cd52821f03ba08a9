"""An architecture diff (``cnnscope.diff``) as a document: the changed layers with their
deltas, the totals old and new, and (markdown) the changed part of the graph, drawn."""

from __future__ import annotations

import json
from typing import Any

from cnnscope.diff import LAYER_FIGURES, ArchDiff, Change, difference, percent_change
from cnnscope.render.document import NEVER, Document, Field, Table, Text, heading
from cnnscope.render.units import count, human, percent, shape, signed

MARK = {"added": "+", "removed": "-", "changed": "~", "unchanged": "·"}
STYLE = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}


def change_text(c: Change) -> str:
    """``kernel_size: 3 → 5``, ``type conv2d → linear``, ``from: pool → conv2``."""
    if c.kind == "type":
        return f"type {c.old} → {c.new}"
    if c.kind == "field":
        return f"{c.key}: {_value(c.old)} → {_value(c.new)}"
    if c.kind == "inputs":
        return f"from: {', '.join(c.old)} → {', '.join(c.new)}"
    if c.kind == "output_shape":
        return f"output {shape(c.old)} → {shape(c.new)}"
    return f"params {count(c.old)} → {count(c.new)}"


def _value(v: Any) -> str:
    if v is None:
        return "(default)"
    return v if isinstance(v, str) else json.dumps(v)


def headline(d: ArchDiff) -> str:
    return (
        f"{d.old.model} → {d.new.model}: {d.count('added')} added, {d.count('removed')} removed, "
        f"{d.count('changed')} changed, {d.count('unchanged')} unchanged"
    )


def _figures(d: ArchDiff) -> list[str]:
    return [f for f in LAYER_FIGURES if any(f in x.deltas for x in d.layers)]


def _unit(d: ArchDiff, key: str) -> str:
    return d.units.get(key, "count")


def _rows(d: ArchDiff) -> list[dict[str, Any]]:
    rows = []
    for x in d.layers:
        typ = x.new_type or x.old_type or ""
        if x.old_type and x.new_type and x.old_type != x.new_type:
            typ = f"{x.old_type} → {x.new_type}"
        row: dict[str, Any] = {
            "mark": MARK[x.status],
            "name": x.name,
            "status": x.status,
            "old_type": x.old_type,
            "new_type": x.new_type,
            "type": typ,
            "change": "; ".join(change_text(c) for c in x.changes) or x.status,
        }
        for f in _figures(d):
            row[f"delta_{f}"] = x.delta(f)
            row[f"shown_{f}"] = signed(x.delta(f), _unit(d, f))
        rows.append(row)
    return rows


def _total_rows(d: ArchDiff) -> list[dict[str, Any]]:
    rows = []
    for k, (o, n) in d.totals.items():
        u = _unit(d, k)
        p = percent_change(o, n)
        rows.append(
            {
                "figure": k,
                "old": human(o, u),
                "new": human(n, u),
                "delta": signed(difference(o, n), u),
                "percent": "" if p is None else ("+" if p > 0 else "") + percent(p / 100),
            }
        )
    return rows


def document(d: ArchDiff, show_all: bool = False, picture: str | None = None) -> Document:
    """``picture``: a fenced mermaid chart of the changes, for the markdown format."""
    figs = _figures(d)
    rows = _rows(d)
    fields = [
        Field("mark", "", styles=STYLE, style_by="status", priority=NEVER),
        Field("name", "layer", styles=STYLE, style_by="status", priority=NEVER, wrap=True, min_width=12, code=True),
        Field("type", "type", priority=80),
        Field("change", "change", wrap=True, min_width=20, priority=70),
        *(Field(f"shown_{f}", f"Δ {f}", align="right", priority=60) for f in figs),
    ]
    csv_fields = [Field(k, k) for k in ("name", "status", "old_type", "new_type", "change")]
    csv_fields += [Field(f"delta_{f}", f"delta_{f}") for f in figs]
    layers = Table(fields, [r for r in rows if show_all or r["status"] != "unchanged"], csv_fields=csv_fields)
    totals = Table(
        [
            Field("figure", "figure", priority=NEVER),
            Field("old", "old", align="right"),
            Field("new", "new", align="right"),
            Field("delta", "Δ", align="right"),
            Field("percent", "Δ %", align="right"),
        ],
        _total_rows(d),
        title="totals",
    )
    blocks: list[Any] = [heading(f"cnnscope diff: {headline(d)}")]
    if layers.rows:
        blocks.append(layers)
    blocks.append(totals)
    if picture:  # GitHub renders mermaid: the changed layers and their neighbours, drawn
        details = ["<details><summary>what changed, drawn</summary>", "", picture.rstrip("\n"), "", "</details>"]
        blocks.append(Text("\n".join(details), "markdown"))
    return Document(blocks, data(d), csv=Table(fields, rows, csv_fields=csv_fields))


def data(d: ArchDiff) -> dict[str, Any]:
    return {
        "old": {"model": d.old.model, "source": d.old.source},
        "new": {"model": d.new.model, "source": d.new.source},
        "summary": {s: d.count(s) for s in ("added", "removed", "changed", "unchanged")},
        "layers": [
            {
                "name": x.name,
                "status": x.status,
                "old_type": x.old_type,
                "new_type": x.new_type,
                "changes": [change_text(c) for c in x.changes],
                "figures": {k: {"old": o, "new": n, "delta": x.delta(k)} for k, (o, n) in x.deltas.items()},
            }
            for x in d.layers
        ],
        "totals": {
            k: {"old": o, "new": n, "delta": difference(o, n), "percent": percent_change(o, n)}
            for k, (o, n) in d.totals.items()
        },
    }
