"""The built-in specs and their headline figures: input, parameters, MACs and the final
receptive field of each (``cnnscope zoo``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cnnscope.graph import Graph


def title(path: Path | None) -> str:
    """The header comment's first phrase: `ResNet-50`, `AlexNet, torchvision's variant`."""
    if path is None:
        return ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("# ").strip()
            return re.split(r" \(|:", text, maxsplit=1)[0].strip().rstrip(",.")
        if line.strip():
            break
    return ""


def final_rf(graph: Graph, shapes: Any = None) -> dict[str, Any]:
    """The receptive field of the last layer that still maps to an input window.

    After global pooling or a linear layer every unit sees the whole input, so a
    classifier's own output says nothing; its backbone's last spatial layer does.
    """
    from cnnscope.analyze.rf import receptive_fields

    fields = receptive_fields(graph, shapes)
    spatial = graph.input_shape[1:]
    last: dict[str, Any] = {"size": None, "stride": None, "padding": None, "layer": None}
    for node in graph.nodes:
        f = fields[node.name]
        if f.ok and not f.collapsed:  # (a collapsed map is not a window)
            j = f.to_json(spatial)
            last = {"size": j["size"], "stride": j["stride"], "padding": j["padding"], "layer": node.name}
    return last


def zoo_rows() -> list[dict[str, Any]]:
    """One row of plain numbers per built-in spec, sorted by name."""
    from cnnscope.analyze.base import analyze
    from cnnscope.analyze.shapes import infer_shapes
    from cnnscope.frontends.sources import builtin_names, builtin_path, load

    rows = []
    for name in builtin_names():
        graph = load(name)
        report = analyze(graph, ["params", "compute"])
        rows.append(
            {
                "name": name,
                "title": title(builtin_path(name)),
                "input_shape": list(graph.input_shape),
                "params": report.totals["params"],
                "macs": report.totals["macs"],
                "rf": final_rf(graph, infer_shapes(graph)),
            }
        )
    return rows
