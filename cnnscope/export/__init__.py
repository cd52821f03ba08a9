"""Graph -> YAML spec text that ``load_spec`` loads back to the same graph.

Names are kept as the graph has them (for a captured module, its qualified names:
``layer1.0.conv1``, torchvision's layout). Where the module repeats itself the spec uses
blocks: the dotted names give a tree of groups (``layer1``, ``layer1.0``,
``layer1.0.downsample``); a group with one input and one output becomes a block instance
when another group has the same structure up to field values (or is of the same module
class, with optional parts: those get a ``when:`` flag). Values that differ between the
instances become block arguments (``${4 * planes}`` where one is a multiple of another);
consecutive instances ``P.0 .. P.k-1`` become one entry with ``repeat: k`` and arguments in
``i``. The result is loaded back and compared node by node; should it differ, the flat form
is written instead (``flat=True`` asks for it). Torch-free.
"""

from __future__ import annotations

from typing import Any

from cnnscope.errors import CnnscopeError, SpecError
from cnnscope.export.blocks import Blocks
from cnnscope.export.entries import Fail, entry, header
from cnnscope.graph import INPUT, Graph

__all__ = ["export_yaml"]


def _refuse_opaque(graph: Graph) -> None:
    opaque = [n for n in graph.nodes if n.layer.opaque]
    if opaque:
        ops = sorted({n.layer.op_label() for n in opaque})
        raise SpecError(
            "unsupported-export",
            f"{len(opaque)} layer(s) have no cnnscope layer type ({', '.join(ops)}): "
            + ", ".join(f"`{n.name}`" for n in opaque[:5])
            + (" ..." if len(opaque) > 5 else ""),
            hint="a spec can only hold known layer types; `cnnscope layers` lists them",
        )


def export_yaml(graph: Graph, flat: bool = False, strict: bool = False) -> str:
    """The YAML text of ``graph``; raises SpecError if a node has no cnnscope layer type.

    ``flat``: one entry per node, no blocks. ``strict``: raise instead of falling back to the
    flat form when the block form does not load back to the same graph (for tests).
    """
    _refuse_opaque(graph)
    if not flat:
        try:
            text = Blocks(graph).text()
            problem = _differs(graph, text)
        except (CnnscopeError, Fail) as exc:
            problem = str(exc)
        if problem is None:
            return text
        if strict:
            raise AssertionError(f"block export does not round-trip: {problem}")
    text = _flat(graph)
    try:
        problem = _differs(graph, text)
    except CnnscopeError as exc:
        where = f" (line {exc.loc.line} of the export)" if exc.loc is not None and exc.loc.line else ""
        problem = f"error[{exc.kind}]: {exc.message}{where}"
    if problem is not None:  # never write a spec that does not load back to this graph
        raise SpecError(
            "unloadable-export",
            f"`{graph.source or graph.name}` cannot be written as a spec that loads back: {problem}",
            hint="layer names must be words without spaces, commas or colons, other than `input`, "
            "and not `${...}`; rename the submodules, or analyze the module directly",
        )
    return text


def _flat(graph: Graph) -> str:
    lines = [*header(graph), "", "layers:"]
    prev = INPUT
    for node in graph.nodes:
        d: dict[str, Any] = {"name": node.name, "type": node.type}
        d.update(node.layer.config())
        if node.inputs != (prev,):
            d["from"] = node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)
        if node.shares is not None:
            d["shares"] = node.shares
        lines.append("  - " + entry(d))
        prev = node.name
    if graph.output != prev:
        lines.append("")
        lines.append(entry({"output": graph.output}, False))
    return "\n".join(lines) + "\n"


def _differs(graph: Graph, text: str) -> str | None:
    from cnnscope.frontends.yaml.loader import load_spec

    g2 = load_spec(text)
    if len(g2.nodes) != len(graph.nodes):
        return f"{len(g2.nodes)} nodes instead of {len(graph.nodes)}"
    for a, b in zip(graph.nodes, g2.nodes):
        if (a.name, a.layer, a.inputs, a.shares) != (b.name, b.layer, b.inputs, b.shares):
            return f"node `{a.name}` loads back as `{b.name}` ({b.type} from {list(b.inputs)})"
    if g2.output != graph.output:
        return f"output `{g2.output}` instead of `{graph.output}`"
    return None
