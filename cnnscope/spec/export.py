"""Graph -> YAML spec text that ``load_spec`` loads back to the same graph.

The spec is flat: one entry per node, named as the node is (for a captured module, its
qualified name: ``layer1.0.conv1``, torchvision's layout), ``from:`` only where the input is
not the previous entry, ``shares:`` where a node reuses another's parameters. Blocks are not
reconstructed. Torch-free.
"""

from __future__ import annotations

from typing import Any

import yaml

from cnnscope.errors import SpecError
from cnnscope.graph import INPUT, Graph


def _entry(d: Any, flow: bool | None = True) -> str:
    text: str = yaml.safe_dump(d, default_flow_style=flow, sort_keys=False, width=1_000_000, allow_unicode=True)
    return text.strip()


def export_yaml(graph: Graph) -> str:
    """The YAML text of ``graph``; raises SpecError if a node has no cnnscope layer type."""
    opaque = [n for n in graph.nodes if n.layer.opaque]
    if opaque:
        ops = sorted({str(getattr(n.layer, "op", n.type)) for n in opaque})
        raise SpecError(
            "unsupported-export",
            f"{len(opaque)} layer(s) have no cnnscope layer type ({', '.join(ops)}): "
            + ", ".join(f"`{n.name}`" for n in opaque[:5])
            + (" ..." if len(opaque) > 5 else ""),
            hint="a spec can only hold known layer types; `cnnscope layers` lists them",
        )
    lines = [
        f"# exported by cnnscope from {graph.source or graph.name}",
        _entry({"name": graph.name}, False),
        "input: " + _entry(list(graph.input_shape)),
        "",
        "layers:",
    ]
    prev = INPUT
    for node in graph.nodes:
        d: dict[str, Any] = {"name": node.name, "type": node.type}
        d.update(node.layer.config())
        if node.inputs != (prev,):
            d["from"] = node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)
        if node.shares is not None:
            d["shares"] = node.shares
        lines.append("  - " + _entry(d))
        prev = node.name
    if graph.output != prev:
        lines.append("")
        lines.append(_entry({"output": graph.output}, False))
    return "\n".join(lines) + "\n"
