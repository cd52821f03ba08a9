"""Input sizes that fit (``cnnscope.learn.fit``): one row per size tried, and what fits."""

from __future__ import annotations

from typing import Any

from cnnscope.graph import Graph
from cnnscope.render.document import Document, Field, Table, Text, heading

CAPTION = "last map: the dim's size after the last window; * a parameter count changes (flatten → linear)"


def problem(r: Any) -> str:
    """What keeps a size from fitting: its error, or the first window that does not fit."""
    return r.error or (f"`{r.problems[0].layer}` {r.problems[0].describe()}" if r.problems else "")


def result_json(r: Any) -> dict[str, Any]:
    return {
        "size": r.size,
        "input": list(r.input),
        "fits": r.fits,
        "final": r.final,
        "output_shape": list(r.output_shape) if r.output_shape else None,
        "params_change": r.params_change,
        "error": r.error,
        "problems": [
            {"layer": w.layer, "dim": w.dim, "lost": w.lost, "partial": w.partial, "detail": w.describe()}
            for w in r.problems
        ],
    }


def data(graph: Graph, res: Any) -> dict[str, Any]:
    return {
        "model": graph.name,
        "mode": "per-dim" if res.per_dim else "combined",
        "note": res.note,
        "dims": [
            {
                "dim": d.dim,
                "range": [d.lo, d.hi],
                "fits": d.fits,
                "sizes": [result_json(r) for r in d.results] if res.per_dim else None,
            }
            for d in res.dims
        ],
        "inputs": [result_json(r) for r in res.combos] if not res.per_dim else None,
        "example": list(res.example) if res.example else None,
    }


def summary(res: Any) -> list[str]:
    out = [res.note[0].upper() + res.note[1:] + "."]
    for d in res.dims:
        n = d.hi - d.lo + 1
        out.append(f"{d.dim}: {len(d.fits)} of {n} sizes fit" + (": " + ", ".join(map(str, d.fits)) if d.fits else ""))
    if res.example:
        out.append("fits exactly, e.g. " + "×".join(map(str, res.example)) + " (checked with every dim set)")
    else:
        out.append("no input in these ranges fits every window")
    return out


def document(graph: Graph, res: Any, show_all: bool = False) -> Document:
    """``show_all``: every size tried, not only those that fit."""
    tried = (
        [(d.dim, r) for d in res.dims for r in d.results]
        if res.per_dim
        else [("×".join(d.dim for d in res.dims), r) for r in res.combos]
    )
    shown = [(dim, r) for dim, r in tried if r.fits or show_all]
    problems = any(problem(r) for _, r in shown)  # without --all every row fits: no problem column
    rows = []
    for dim, r in shown:
        final = "–" if r.final is None and r.output_shape is None else str(r.final if r.final is not None else "")
        rows.append(
            {
                "dim": dim,
                "size": str(r.size) if res.per_dim else "×".join(map(str, r.input)),
                "fits": "yes" if r.fits else "no",
                "last_map": final + (" *" if r.params_change else ""),
                "first_problem": problem(r),
            }
        )
    fields = [
        Field("dim", "dim", priority=100, min_width=20),
        Field("size", "size", priority=99, min_width=20),
        Field("fits", "fits", priority=98, min_width=20),
        Field("last_map", "last map", priority=97, min_width=20),
    ]
    if problems:
        fields.append(Field("first_problem", "first problem", priority=96, wrap=True, min_width=20))
    title = f"{graph.name}: input sizes " + ", ".join(f"{d.dim} {d.lo}..{d.hi}" for d in res.dims)
    blocks: list[Any] = [heading(title), Table(fields, rows), Text(CAPTION, "caption")]
    blocks += [Text(line, "bullet") for line in summary(res)]
    return Document(blocks, data(graph, res))
