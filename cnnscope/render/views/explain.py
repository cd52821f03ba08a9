"""Explanations (``cnnscope.learn.explain``): per layer, each formula with its numbers and,
under it, why it is so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnscope.graph import Graph
from cnnscope.learn.explain import LayerExplanation
from cnnscope.render.document import NEVER, Block, Document, Field, Table, Text, heading
from cnnscope.render.units import shape

WHY_WIDTH = 72  # the formula column wraps the reasons at this width
_DIM_WHY: dict[str, Any] = {"styles": {"why": "dim"}, "style_by": "kind"}
FIELDS = (
    Field("what", "what", priority=NEVER, style="bold"),
    Field("formula", "formula", priority=NEVER, wrap=True, min_width=24, max_width=WHY_WIDTH, **_DIM_WHY),
    Field("result", "=", align="right", priority=NEVER),
)
CSV_FIELDS = tuple(Field(k, k) for k in ("layer", "type", "what", "formula", "result", "why"))


def title(e: LayerExplanation) -> str:
    shapes = ", ".join(shape(s) for s in e.inputs)
    return f"{e.name} ({e.type}): {shapes} → {shape(e.output)}"


def _rows(e: LayerExplanation, why: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    said: set[str] = set()
    for s in e.steps:
        rows.append({"kind": "step", "what": s.what, "formula": s.formula, "result": s.result})
        reason = e.why.get(s.what) if why else None
        if reason and reason not in said:  # output H and W share one reason: say it once
            said.add(reason)
            rows.append({"kind": "why", "what": "", "formula": "↳ " + reason, "result": ""})
    return rows


def document(graph: Graph, items: Sequence[LayerExplanation], batch: int, why: bool = True) -> Document:
    def people() -> tuple[list[Block], Table]:  # what a person reads: made only for a format that shows it
        blocks: list[Block] = [heading(graph.name)]
        for e in items:
            caption = str(e.loc) if e.loc else None
            blocks += [Table(FIELDS, _rows(e, why), title=title(e), caption=caption, header=False, boxed=False)]
            blocks += [Text("", "terminal")]  # a blank line between layers
        every = [
            {
                "layer": e.name,
                "type": e.type,
                "what": s.what,
                "formula": s.formula,
                "result": s.result,
                "why": e.why.get(s.what, ""),
            }
            for e in items
            for s in e.steps
        ]
        return blocks, Table(CSV_FIELDS, every)

    data = {
        "model": graph.name,
        "source": graph.source,
        "input_shape": [batch, *graph.input_shape],
        "layers": [e.to_json() for e in items],
    }
    return Document.later(people, data)
