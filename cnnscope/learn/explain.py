"""Show the work: every layer's formulas with the numbers filled in.

For each layer, its own :meth:`Layer.explain` steps (output size ``(32 − 5 + 2·2)/1 + 1 =
32``, parameters ``(5·5·3 + 1)·10 = 760``, MACs), then what this module adds from the
graph around it:

- the receptive field, ``r = r_prev + (k − 1)·jump`` and ``jump = jump_prev·s``. The numbers
  are the receptive-field analyzer's (:func:`cnnscope.analyze.rf.receptive_fields`): this
  module only writes out the step from the input's field to the layer's, so ``explain`` and
  ``cnnscope rf`` can never disagree;
- whether a strided window fits (see :mod:`cnnscope.learn.fit`);
- for a convolution, the weight-sharing view: the parameters of a fully connected layer
  with the same input and output sizes, and how many times more that is;
- for each step where the course gives one, a short *why* (:attr:`LayerExplanation.why`):
  a layer's own steps carry theirs (``Step.why``, written beside the formula in the layer's
  file); the steps added here carry this module's.

Steps are strings by the :class:`~cnnscope.layers.base.Step` contract; every number is
also kept raw in :attr:`LayerExplanation.values` for JSON. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from math import prod
from typing import Any

from cnnscope.analyze.rf import RFInfo, dim_names, input_rf, receptive_fields
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.analyze.shift import explain_step as shift_explain_step
from cnnscope.analyze.shift import shift_infos
from cnnscope.errors import Location, UsageError, did_you_mean
from cnnscope.graph import Graph, Node
from cnnscope.layers.base import RFKind, RFMap, Shape, Step
from cnnscope.learn.fit import node_fits
from cnnscope.records import Record, record

WHOLE = "whole input"  # a receptive-field step's result, in the words `cnnscope rf` uses
NOT_A_WINDOW = "n/a (not a sliding window)"


@record
class LayerExplanation(Record):
    name: str
    type: str
    loc: Location | None
    inputs: tuple[Shape, ...]
    output: Shape
    steps: tuple[Step, ...]
    values: dict[str, Any] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)  # step.what -> the reason, in plain words

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "inputs": [list(s) for s in self.inputs],
            "output_shape": list(self.output),
            "steps": [
                {"what": s.what, "formula": s.formula, "result": s.result, "why": self.why.get(s.what)}
                for s in self.steps
            ],
            "values": self.values,
        }
        if self.loc is not None:
            out["location"] = {"file": self.loc.file, "line": self.loc.line, "column": self.loc.col}
        return out


def _join(xs: Sequence[int]) -> str:
    return "×".join(str(x) for x in xs)


def _same(xs: Sequence[int]) -> bool:
    return len(set(xs)) <= 1


# -- receptive fields: the analyzer's numbers, written out step by step --------------------


def rf_steps(node: Node, step: RFMap, fields: Mapping[str, RFInfo], spatial: Sequence[int]) -> list[Step]:
    """The receptive field of ``node`` as the analyzer computed it, with the arithmetic.

    For a windowed layer, ``r = r_prev + (k − 1)·jump`` where ``r_prev`` and ``jump`` are the
    field of the layer's input (one line for all dims when they agree); a merge is the union
    of its inputs' fields; after a global op the field is the whole input.
    """
    nd = len(spatial)
    f = fields[node.name]
    srcs = [fields[i] for i in node.inputs] or [input_rf(nd)]
    if f.whole_input:
        how = (
            "a global op: every output sees the whole input"
            if step.kind is RFKind.GLOBAL
            else "fed by a global op: every value already depends on the whole input"
        )
        return [Step("receptive field", how, WHOLE, _WHY_GLOBAL_RF)]
    if not f.ok:
        return [
            Step(
                "receptive field", "not a sliding window (upsampling, a broadcast gate, a spatial concat)", NOT_A_WINDOW
            )
        ]
    covers = " (covers the input)" if f.covers(spatial) else ""
    out: list[Step] = []
    if len(srcs) > 1:
        parts = " ∪ ".join(_join(s.size) for s in srcs)
        out.append(Step("receptive field", f"union of the inputs' fields: {parts}", _join(f.size) + covers))
        out += [Step("receptive field note", w, "misaligned") for w in f.warnings]
        return out
    base = srcs[0]
    if not step.windowed:
        return [Step("receptive field", "unchanged (pointwise)", _join(f.size) + covers)]
    same = all(_same(v) for v in (base.size, base.stride, step.kernel, step.stride))
    dims = [0] if same else list(range(nd))
    names = dim_names(nd)
    for i in dims:
        tag = "" if len(dims) == 1 else f" ({names[i]})"
        r, k, j, s = base.size[i], step.kernel[i], base.stride[i], step.stride[i]
        out.append(Step(f"receptive field{tag}", f"r = {r} + ({k} − 1)·{j}", f"{f.size[i]}{covers}", _WHY_RF))
        out.append(Step(f"jump{tag}", f"jump = {j}·{s}", f"{f.stride[i]}", _WHY_JUMP))
    return out


# -- the weight-sharing view -------------------------------------------------------------


def sharing_steps(node: Node, ins: Sequence[Shape], out: Shape, own_params: int) -> tuple[list[Step], dict[str, Any]]:
    """The weight-sharing view of a convolution: a dense layer from the same input to the same output."""
    if not node.layer.convolution or not ins or own_params <= 0:
        return [], {}
    fin, fout = prod(ins[0][1:]), prod(out[1:])
    bias = node.layer.has_bias()
    fc = fin * fout + (fout if bias else 0)
    ratio = fc / own_params
    b = " + 1" if bias else ""
    steps = [
        Step(
            "fully connected instead",
            f"({_join(ins[0][1:])}{b})·({_join(out[1:])}) = "
            + (f"({fin:,}{b})" if bias else f"{fin:,}")
            + f"·{fout:,}",
            f"{fc:,}",
            _WHY_FC,
        ),
        Step("weight sharing saves", f"{fc:,} / {own_params:,}", f"{ratio:,.0f}×", _WHY_SHARING),
    ]
    return steps, {"fc_equivalent_params": fc, "sharing_ratio": ratio}


# -- why: the course's reasons for the steps added here, in a sentence each ------------------
# (a layer's own steps carry theirs: see its explain())

_WHY_JUMP = "the distance in input pixels between neighbouring outputs; every stride multiplies it"
_WHY_FC = (
    "a dense layer from the same input to the same output learns a separate weight for every pair "
    "of input and output values"
)
_WHY_SHIFTS = (
    "convolution and pooling slide one window over every position, so a shifted input gives a shifted "
    "output; but a stride keeps one position in s, so only shifts by multiples of the cumulative stride "
    "commute (Zhang 2019): `cnnscope shift` measures the rest"
)
_WHY_SHARING = (
    "the convolution reuses one small filter at every position, so a pattern learned in one place "
    "is found everywhere; a dense layer would have to learn it at each position again"
)
_WHY_RF = (
    "one more K-wide window adds K − 1 steps of the layer below, and one step there is `jump` input "
    "pixels: after each stride, every layer widens the view faster"
)
_WHY_GLOBAL_RF = (
    "global pooling, flatten and dense layers mix every position, so each output depends on the whole image"
)
_WHY_FIT = "a stride that does not divide I + P − K leaves the last pixels outside every window"


# -- explanations ------------------------------------------------------------------------


def explain(graph: Graph, batch: int = 1, layer: str | None = None) -> list[LayerExplanation]:
    """Explanations for every layer (or just ``layer``), in graph order."""
    if layer is not None and layer not in graph:
        raise UsageError(
            "unknown-layer",
            f"`{graph.name}` has no layer `{layer}`" + did_you_mean(layer, [n.name for n in graph.nodes]),
        )
    shapes = infer_shapes(graph, batch)
    fields = receptive_fields(graph, shapes)
    shifts = shift_infos(graph, shapes) if len(graph.input_shape) > 1 else None  # none without positions
    spatial = graph.input_shape[1:]
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
                formula = f"({w.size}{pad} − {w.kernel}) mod {w.stride} = {w.remainder}"
                steps.append(Step(f"window fit {w.dim}", formula, verdict, "" if w.fits else _WHY_FIT))
        steps.extend(rf_steps(node, node.layer.rf(list(ins)), fields, spatial))
        values["rf"] = fields[node.name].to_json(spatial)
        if shifts is not None:
            shift = shift_explain_step(node, shifts)
            steps.append(Step(shift.what, shift.formula, shift.result, _WHY_SHIFTS))
        share, extra = sharing_steps(node, ins, o, values["params"])
        steps.extend(share)
        values.update(extra)
        why = {s.what: s.why for s in steps if s.why}
        out.append(LayerExplanation(node.name, node.type, node.loc, ins, o, tuple(steps), values, why))
    return out
