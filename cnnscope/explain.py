"""Show the work: every layer's formulas with the numbers filled in.

For each layer, its own :meth:`Layer.explain` steps (output size ``(32 − 5 + 2·2)/1 + 1 =
32``, parameters ``(5·5·3 + 1)·10 = 760``, MACs), then what this module adds from the
graph around it:

- the receptive field, ``r = r_prev + (k − 1)·jump`` and ``jump = jump_prev·s``;
- whether a strided window fits (see :mod:`cnnscope.fit`);
- for a convolution, the weight-sharing view: the parameters of a fully connected layer
  with the same input and output sizes, and how many times more that is.

Steps are strings by the :class:`~cnnscope.layers.base.Step` contract; every number is
also kept raw in :attr:`LayerExplanation.values` for JSON. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Any

from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import Location, UsageError, did_you_mean
from cnnscope.fit import node_fits
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import RFKind, RFStep, Shape, Step

# -- receptive fields, step by step ------------------------------------------------------


@dataclass(frozen=True)
class RF:
    """Receptive field of one node's output, per spatial dim of the model input.

    ``size`` and ``jump`` are None when unknown (upsampling); ``whole`` is set when the
    node sees the whole input (a global op, or a window at least as large as the input).
    """

    size: tuple[int, ...] | None
    jump: tuple[int, ...] | None
    whole: bool = False
    kind: str = "window"  # window | pointwise | global | merge | unknown
    prev: tuple[int, ...] | None = None  # r_prev, jump_prev (for the formula)
    prev_jump: tuple[int, ...] | None = None
    step: RFStep | None = None


def receptive_fields(graph: Graph, shapes: Mapping[str, Shape]) -> dict[str, RF]:
    """The receptive field of every node, walking the graph once in topological order.

    Through a merge (add, concat) the field is the widest of the inputs'. Sizes are not
    clipped to the input: a field larger than the image is reported as it is.
    """
    spatial = graph.input_shape[1:]
    nd = len(spatial)
    out: dict[str, RF] = {INPUT: RF((1,) * nd, (1,) * nd, nd == 0 or all(s <= 1 for s in spatial), "input")}
    for node in graph.nodes:
        ins = [shapes[i] for i in node.inputs]
        prevs = [out[i] for i in node.inputs]
        step = node.layer.rf(ins)
        if any(p.kind == "unknown" for p in prevs) and step != RFKind.GLOBAL:
            out[node.name] = RF(None, None, False, "unknown")
            continue
        if step == RFKind.GLOBAL or any(p.whole and p.kind == "global" for p in prevs):
            out[node.name] = RF(tuple(spatial), None, True, "global")
            continue
        if not isinstance(step, RFStep) and step != RFKind.POINTWISE:
            out[node.name] = RF(None, None, False, "unknown")
            continue
        sizes = [p.size for p in prevs if p.size is not None]
        jumps = [p.jump for p in prevs if p.jump is not None]
        if not sizes or not jumps:
            out[node.name] = RF(None, None, False, "unknown")
            continue
        r_prev = tuple(max(s[i] for s in sizes) for i in range(nd))
        j_prev = tuple(max(j[i] for j in jumps) for i in range(nd))
        kind = "merge" if len(prevs) > 1 else "pointwise"
        if isinstance(step, RFStep):
            if len(step.kernel) != nd:
                out[node.name] = RF(None, None, False, "unknown")
                continue
            r = tuple(r_prev[i] + (step.kernel[i] - 1) * j_prev[i] for i in range(nd))
            j = tuple(j_prev[i] * step.stride[i] for i in range(nd))
            out[node.name] = RF(r, j, all(r[i] >= spatial[i] for i in range(nd)), "window", r_prev, j_prev, step)
        else:
            out[node.name] = RF(r_prev, j_prev, all(r_prev[i] >= spatial[i] for i in range(nd)), kind)
    return out


# -- explanations ------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerExplanation:
    name: str
    type: str
    loc: Location | None
    inputs: tuple[Shape, ...]
    output: Shape
    steps: tuple[Step, ...]
    values: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "inputs": [list(s) for s in self.inputs],
            "output_shape": list(self.output),
            "steps": [{"what": s.what, "formula": s.formula, "result": s.result} for s in self.steps],
            "values": self.values,
        }
        if self.loc is not None:
            out["location"] = {"file": self.loc.file, "line": self.loc.line, "column": self.loc.col}
        return out


def _join(xs: Sequence[int]) -> str:
    return "×".join(str(x) for x in xs)


def _same(xs: Sequence[int]) -> bool:
    return len(set(xs)) <= 1


def rf_steps(rf: RF, nd: int) -> list[Step]:
    """``r = r_prev + (k − 1)·jump``, with the numbers; one line for all dims when they agree."""
    if rf.kind == "global":
        return [Step("receptive field", "a global op: every output sees the whole input", "whole input")]
    if rf.kind == "unknown" or rf.size is None or rf.jump is None:
        return [Step("receptive field", "not an integer-stride map (upsampling): not tracked", "–")]
    whole = " (whole input)" if rf.whole else ""
    if rf.kind != "window" or rf.step is None or rf.prev is None or rf.prev_jump is None:
        how = "widest of the inputs'" if rf.kind == "merge" else "unchanged (pointwise)"
        return [Step("receptive field", how, _join(rf.size) + whole)]
    dims = [0] if all(_same(v) for v in (rf.prev, rf.prev_jump, rf.step.kernel, rf.step.stride)) else list(range(nd))
    steps = []
    for i in dims:
        tag = "" if len(dims) == 1 else f" ({'HW'[i] if nd == 2 else i})"
        k, j, s = rf.step.kernel[i], rf.prev_jump[i], rf.step.stride[i]
        steps.append(Step(f"receptive field{tag}", f"r = {rf.prev[i]} + ({k} − 1)·{j}", f"{rf.size[i]}" + whole))
        steps.append(Step(f"jump{tag}", f"jump = {j}·{s}", f"{rf.jump[i]}"))
    return steps


def sharing_steps(node: Node, ins: Sequence[Shape], out: Shape, own_params: int) -> tuple[list[Step], dict[str, Any]]:
    """The weight-sharing view of a convolution: a dense layer from the same input to the same output."""
    if node.layer.family != "conv" or not ins or own_params <= 0:
        return [], {}
    fin, fout = prod(ins[0][1:]), prod(out[1:])
    bias = bool(getattr(node.layer, "bias", True))
    fc = fin * fout + (fout if bias else 0)
    ratio = fc / own_params
    b = " + 1" if bias else ""
    steps = [
        Step(
            "fully connected instead", f"({_join(ins[0][1:])}{b})·({_join(out[1:])}) = ({fin:,}{b})·{fout:,}", f"{fc:,}"
        ),
        Step("weight sharing saves", f"{fc:,} / {own_params:,}", f"{ratio:,.0f}×"),
    ]
    return steps, {"fc_equivalent_params": fc, "sharing_ratio": ratio}


def explain(graph: Graph, batch: int = 1, layer: str | None = None) -> list[LayerExplanation]:
    """Explanations for every layer (or just ``layer``), in graph order."""
    if layer is not None and layer not in graph:
        raise UsageError(
            "unknown-layer",
            f"`{graph.name}` has no layer `{layer}`" + did_you_mean(layer, [n.name for n in graph.nodes]),
        )
    shapes = infer_shapes(graph, batch)
    rfs = receptive_fields(graph, shapes)
    nd = len(graph.input_shape) - 1
    out = []
    for node in graph.nodes:
        if layer is not None and node.name != layer:
            continue
        ins = tuple(shapes[i] for i in node.inputs)
        o = shapes[node.name]
        steps = list(node.layer.explain(ins, o))
        pc = node.layer.params(ins)
        values: dict[str, Any] = {"params": pc.total, "macs": node.layer.macs(ins, o)}
        if node.shares is not None:
            steps.append(Step("parameters", f"shared with `{node.shares}`", "0 new"))
            values["params"] = 0
        for w in node_fits(node, ins, o):
            if w.stride > 1 and w.kernel >= w.stride:
                pad = f" + {w.pad_lo} + {w.pad_hi}" if w.pad_lo or w.pad_hi else ""
                verdict = (
                    "fits"
                    if w.fits
                    else f"{w.lost} pixel{'s' if w.lost != 1 else ''} lost"
                    if w.lost
                    else "partial last window (ceil_mode)"
                )
                steps.append(
                    Step(f"window fit {w.dim}", f"({w.size}{pad} − {w.kernel}) mod {w.stride} = {w.remainder}", verdict)
                )
        rf = rfs[node.name]
        steps.extend(rf_steps(rf, nd))
        values["rf"] = {
            "size": list(rf.size) if rf.size else None,
            "jump": list(rf.jump) if rf.jump else None,
            "whole_input": rf.whole,
        }
        share, extra = sharing_steps(node, ins, o, values["params"])
        steps.extend(share)
        values.update(extra)
        out.append(LayerExplanation(node.name, node.type, node.loc, ins, o, tuple(steps), values))
    return out
