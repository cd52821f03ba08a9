"""Which counting conventions reproduce a quoted figure (``cnnscope reconcile``) as a document:
the ways that do (or the nearest), the simplest first, the first one's breakdown, what was tried."""

from __future__ import annotations

from typing import Any

from cnnscope.render.document import Block, Document, Field, Table, Text
from cnnscope.render.units import fmt

CSV = tuple(Field(k, k) for k in ("value", "distance", "size", "batch", "tools", "convention"))


def _line(i: int, r: dict[str, Any]) -> str:
    size = "×".join(map(str, r["size"]))
    who = ", ".join(r["tools"]) if r["tools"] else "no tool we know"
    dist = f"{100 * r['distance']:.3g}% off" if r["distance"] else "exact"
    return f"{i}. {r['value']:,} at {size}, batch {r['batch']} ({dist}) — {who}: {r['convention']}"


def document(res: dict[str, Any], top: int) -> Document:
    """``res``: ``cnnscope.whatif.reconcile.reconcile``'s answer; ``top``: the rows to list."""
    rows = (res["matches"] or res["nearest"])[:top]
    head = f"{res['model']}: --{res['figure']} {res['given']} = {res['target']:,} ± {res['tolerance']:,.6g}"
    if res["matches"]:
        head += f": {len(res['matches'])} way(s) to count it reproduce the figure; the simplest first"
    else:
        head += ": no combination reproduces it; the nearest:"
    blocks: list[Block] = [Text(head)]
    if rows:  # one block: a numbered list in markdown, one line each in a terminal
        blocks.append(Text("\n".join(_line(i, r) for i, r in enumerate(rows, 1))))
        best = rows[0]
        parts = " + ".join(f"{k} {fmt(v, 'count')}" for k, v in best["breakdown"].items())
        blocks.append(Text(f"breakdown of #1: {parts} = {best['value']:,}"))
    sizes = ", ".join("×".join(map(str, s)) for s in res["sizes_tried"])
    batches = ", ".join(map(str, res["batches_tried"]))
    blocks.append(Text(f"tried: input sizes {sizes}; batch {batches}; conventions of docs/conventions.md"))
    csv_rows = [{**r, "distance": float(f"{r['distance']:.6g}"), "tools": "; ".join(r["tools"])} for r in rows]
    return Document(blocks, res, csv=Table(CSV, csv_rows))
