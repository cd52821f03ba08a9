"""What a picture shows: one :class:`Item` per layer, with the analyzers' figures.

A :class:`Picture` is built from a graph (analyzed here with the summary analyzers, plus the
``explain`` lines of every layer) or from a :class:`~cnnscope.analyze.base.Report` alone
(rows carry name, type and inputs; no explain lines then). ``diff`` builds one from the
union of two graphs (:mod:`cnnscope.draw.diffview`). Nothing here formats a number or
imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cnnscope.analyze.base import Report, analyze
from cnnscope.graph import Graph

# the colour measures: CLI name -> the row key it reads
MEASURES: dict[str, str] = {"macs": "macs", "params": "params", "activations": "activation_bytes"}
# the figures a page carries per layer (a subset of the report's row)
ROW_KEYS = (
    "name",
    "type",
    "inputs",
    "output_shape",
    "params",
    "trainable_params",
    "macs",
    "flops",
    "other_ops_total",
    "activation_bytes",
    "param_bytes",
    "macs_share",
    "rf",
    "warnings",
)


@dataclass
class Item:
    """One layer as drawn: its name, type, inputs, figures and (optional) explain lines."""

    name: str
    type: str
    inputs: tuple[str, ...]
    row: dict[str, Any]
    key: str  # structural identity: type + fields (or figures, when only a report is known)
    block: str | None = None
    status: str = ""  # diff only: added | removed | changed | unchanged
    changes: list[str] = field(default_factory=list)  # diff only
    explain: list[str] = field(default_factory=list)

    def figure(self, key: str) -> float:
        v = self.row.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


@dataclass
class Picture:
    """What a drawing shows: the model's layers in topological order with their figures."""

    model: str
    source: str
    input_shape: list[int]  # batch included
    items: list[Item]  # topological order
    totals: dict[str, Any]
    title: str = ""
    diff: dict[str, Any] | None = None  # diff only: summary counts and the two model names

    def __post_init__(self) -> None:
        self.index = {it.name: i for i, it in enumerate(self.items)}

    def item(self, name: str) -> Item:
        return self.items[self.index[name]]


def _slim(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ROW_KEYS if k in row}


def explain_lines(graph: Graph, batch: int) -> dict[str, list[str]]:
    """``explain``'s steps of every layer, one line each: ``what: formula = result``."""
    from cnnscope.learn.explain import explain

    out: dict[str, list[str]] = {}
    for ex in explain(graph, batch):
        lines = []
        for s in ex.steps:
            formula = f"{s.formula} = {s.result}" if s.formula and s.result else s.formula or s.result
            lines.append(f"{s.what}: {formula}")
        out[ex.name] = lines
    return out


def from_graph(graph: Graph, batch: int = 1, report: Report | None = None, with_explain: bool = True) -> Picture:
    report = report if report is not None else analyze(graph, None, batch=batch)
    lines = explain_lines(graph, batch) if with_explain else {}
    items = []
    for node in graph.nodes:
        cfg = json.dumps(node.layer.config(), sort_keys=True, default=str)
        items.append(
            Item(
                node.name,
                node.type,
                tuple(node.inputs),
                _slim(report.row(node.name)),
                f"{node.type}{cfg}",
                node.block,
                explain=lines.get(node.name, []),
            )
        )
    return Picture(report.model, report.source, list(report.input_shape), items, dict(report.totals))


def from_report(report: Report) -> Picture:
    items = []
    for row in report.rows:
        key = f"{row['type']}|{row.get('params')}|{row.get('output_shape')}"
        items.append(Item(row["name"], row["type"], tuple(row.get("inputs", ())), _slim(row), key))
    return Picture(report.model, report.source, list(report.input_shape), items, dict(report.totals))


def picture_of(obj: Graph | Report | Picture, batch: int = 1) -> Picture:
    if isinstance(obj, Picture):
        return obj
    if isinstance(obj, Report):
        return from_report(obj)
    return from_graph(obj, batch)
