"""Output shapes, layer by layer, with PyTorch's rules; window-fit warnings."""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Column, Context, Report, analyzer
from cnnscope.errors import CnnscopeError, ShapeError
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import Shape


def infer_shapes(graph: Graph, batch: int = 1) -> dict[str, Shape]:
    """Every node's output shape (batch included); ShapeError names and locates the layer."""
    shapes: dict[str, Shape] = {INPUT: (batch, *graph.input_shape)}
    memo: dict[tuple[Any, ...], Shape] = {}  # once per layer object and input shapes (see Context.of)
    for node in graph.nodes:
        ins = [shapes[i] for i in node.inputs]
        key = (id(node.layer), *ins)
        out = memo.get(key)
        if out is None:
            try:
                node.layer.check_inputs(ins)
                out = memo[key] = tuple(node.layer.out_shape(ins))
            except CnnscopeError as exc:
                raise _locate(exc, node, ins) from None
        shapes[node.name] = out
    return shapes


def _locate(exc: CnnscopeError, node: Node, ins: list[Shape]) -> CnnscopeError:
    src = ", ".join(f"`{i}` {list(s)}" for i, s in zip(node.inputs, ins))
    msg = f"layer `{node.name}` ({node.type}) {exc.message}"
    hint = exc.hint or f"its input{'s' if len(ins) > 1 else ''}: {src}"
    if exc.hint:
        hint = f"{exc.hint}; its input{'s' if len(ins) > 1 else ''}: {src}"
    cl = _channels_last_hint(node, ins)
    if cl:
        hint = f"{hint}; {cl}"
    err = ShapeError(exc.kind, msg, node.loc, hint)
    return err


def _channels_last_hint(node: Node, ins: list[Shape]) -> str | None:
    """``input: [32, 32, 3]`` is an image written channels last; cnnscope's (and PyTorch's)
    input is channels first. Said when the layer that fails reads the model input."""
    for name, shape in zip(node.inputs, ins, strict=False):
        dims = shape[1:]  # without the batch
        if name != INPUT or len(dims) < 3:
            continue
        if dims[-1] <= 4 < dims[0] and all(d > 4 for d in dims[:-1]):
            fixed = [dims[-1], *dims[:-1]]
            return (
                f"the input {list(dims)} looks channels-last; cnnscope's input is channels first, as PyTorch's: {fixed}"
            )
    return None


@analyzer("shapes", order=0, doc="output shape of every layer")
def run(ctx: Context, report: Report) -> None:
    ctx.shapes = infer_shapes(ctx.graph, ctx.batch)
    report.add_columns(
        Column("name", "layer", "text", total=False),
        Column("type", "type", "text", total=False),
        Column("output_shape", "output shape", "shape", total=False),
    )
    for node in ctx.graph.nodes:
        out = ctx.shapes[node.name]
        row = report.row(node.name)
        row["output_shape"] = list(out)
        row.setdefault("warnings", [])
        for w in ctx.of(node, "warnings", with_out=True):
            report.warn(w, node, "window-fit")
    report.totals["output_shape"] = list(ctx.shapes[ctx.graph.output])
    consumers = ctx.graph.consumers()
    outputs = {ctx.graph.output, *ctx.graph.extras.get("outputs", ())}  # a detector's boxes, labels, scores
    for node in ctx.graph.nodes:
        if node.name not in outputs and not consumers.get(node.name):
            report.warn(f"layer `{node.name}` feeds nothing and does not reach the output", node, "dead-layer")
    measured = [node.name for node in ctx.graph.nodes if node.layer.data_dependent]
    if measured:
        report.notes.append(
            f"{len(measured)} layer(s) have a size the data decides (boxes kept by nms, a mask's true elements, "
            "distinct values): their shapes are those of the input measured at capture; another input gives others"
        )
