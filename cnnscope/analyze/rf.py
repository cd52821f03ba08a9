"""Receptive field of every layer: size, effective stride and effective padding per spatial dim.

The arithmetic follows Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks" (Distill, 2019). Walking the graph from the input, each node carries, per
spatial dim, three numbers measured in input pixels:

- ``size`` r: how many input positions one output unit spans;
- ``stride`` j: how far apart (in input pixels) two neighbouring output units are;
- ``padding`` p: how far the span of output unit 0 starts before input position 0, so that
  unit ``u`` spans ``[u·j − p, u·j − p + r − 1]``.

A layer with effective kernel k (dilation included), stride s and low-side padding q maps
them as ``r' = r + (k − 1)·j``, ``j' = j·s``, ``p' = p + q·j``.

Merges take the field of their widest input. When the inputs share an effective stride the
union of their spans is exact for every unit (its lower end is the largest padding, its upper
end the largest ``r − 1 − p``); this equals the widest input when the inputs are aligned. When
the inputs disagree on stride, or their centres ``(r − 1)/2 − p`` differ, the merge is
misaligned (Distill's conditions) and a warning names the layers.

After a global layer (global pooling, flatten, linear, ...) every output sees the whole
input: ``whole_input`` is true and no size is given. After upsampling positions no longer map
to input positions by an integer stride: the field is reported as unknown, not guessed.

A learned tensor entering the graph (``parameter``: a class token, a position embedding) is
``constant``: it depends on no input position, has no field, and a merge leaves it out of the
union of its inputs' fields; a node all of whose inputs are constant is constant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from cnnscope.analyze.base import Column, Context, Report, analyzer
from cnnscope.graph import INPUT, Graph
from cnnscope.layers.base import RFKind, RFMap, Shape
from cnnscope.records import Record, record

OK = "ok"
WHOLE = "whole_input"
UNKNOWN = "unsupported"
CONSTANT = "constant"


@record
class RFInfo(Record):
    """The receptive field of one node's output units, per spatial dim (first spatial dim first).

    ``status`` is ``ok`` (size/stride/padding hold numbers), ``whole_input`` (each output sees
    all of the input), ``unsupported`` (not an integer-stride map, e.g. after upsampling) or
    ``constant`` (depends on no input position: a learned parameter).
    """

    size: tuple[int, ...] = ()
    stride: tuple[int, ...] = ()
    padding: tuple[int, ...] = ()
    status: str = OK
    warnings: tuple[str, ...] = ()
    # the union of a collapsed map's fields (after a flatten or global pool that does not see
    # all of the input): its size is that union's extent, and it has no stride
    collapsed: bool = False

    @property
    def whole_input(self) -> bool:
        return self.status == WHOLE

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def ndim(self) -> int:
        return len(self.size)

    def centre(self) -> tuple[float, ...]:
        """Input coordinate of output unit 0's centre, per dim."""
        return tuple((r - 1) / 2 - p for r, p in zip(self.size, self.padding, strict=True))

    def span(self, unit: Sequence[int]) -> list[tuple[int, int]]:
        """Inclusive input interval ``[lo, hi]`` per dim that output unit ``unit`` spans."""
        dims = zip(unit, self.size, self.stride, self.padding, strict=True)
        return [(u * j - p, u * j - p + r - 1) for u, r, j, p in dims]

    def coverage(self, input_spatial: Sequence[int]) -> list[float] | None:
        """Fraction of the input each dim's field spans, capped at 1 (None when unknown)."""
        if self.status == WHOLE:
            return [1.0] * len(input_spatial)
        if self.status != OK:
            return None
        return [min(1.0, r / n) for r, n in zip(self.size, input_spatial, strict=True)]

    def covers(self, input_spatial: Sequence[int]) -> bool:
        """True when the field is at least as large as the input in every dim."""
        if self.status == WHOLE:
            return True
        return self.status == OK and all(r >= n for r, n in zip(self.size, input_spatial, strict=True))

    def to_json(self, input_spatial: Sequence[int]) -> dict[str, Any]:
        known = self.status == OK
        out: dict[str, Any] = {
            "size": list(self.size) if known else None,
            "stride": list(self.stride) if known and not self.collapsed else None,
            "padding": list(self.padding) if known else None,
            "whole_input": self.status == WHOLE,
            "coverage": self.coverage(input_spatial),
            "status": self.status,
            "collapsed": self.collapsed,
        }
        return out  # no words here: render writes a field with no size as its status says (units.rf)


def input_rf(ndim: int) -> RFInfo:
    return RFInfo((1,) * ndim, (1,) * ndim, (0,) * ndim)


def apply_step(rf: RFInfo, step: RFMap) -> RFInfo:
    """One layer on top of a known field: r += (k − 1)·j, j *= s, p += q·j."""
    size = tuple(r + (k - 1) * j for r, k, j in zip(rf.size, step.kernel, rf.stride, strict=True))
    padding = tuple(p + q * j for p, q, j in zip(rf.padding, step.padding, rf.stride, strict=True))
    stride = tuple(j * s for j, s in zip(rf.stride, step.stride, strict=True))
    return RFInfo(size, stride, padding)


def _collapsed(base: RFInfo, in_shape: Shape, input_spatial: Sequence[int]) -> RFInfo:
    """The field of a layer that collapses space (flatten, global pooling, a dense layer).

    It reads every unit of its input, so it sees the union of their fields: the whole input
    when that union covers it, and otherwise (a stride that never reaches the last rows, a
    strided 1×1 map that skips pixels) the union's extent, which is not the whole input."""
    whole = RFInfo(status=WHOLE, warnings=base.warnings)
    if base.status != OK:
        return whole
    if len(in_shape) != base.ndim + 2:  # its input is already collapsed: the same union
        return base if len(in_shape) < 3 and len(input_spatial) == base.ndim else whole
    units = in_shape[2:]
    size = tuple((n - 1) * j + r for n, j, r in zip(units, base.stride, base.size, strict=True))
    gaps = any(n > 1 and r < j for n, j, r in zip(units, base.stride, base.size, strict=True))
    reads_all = all(  # the union [−p, size − p − 1] spans [0, L − 1]
        p >= 0 and size_d - p >= length for size_d, p, length in zip(size, base.padding, input_spatial, strict=True)
    )
    if reads_all and not gaps:
        return whole
    stride = tuple(n * j for n, j in zip(units, base.stride, strict=True))
    return RFInfo(size, stride, base.padding, warnings=base.warnings, collapsed=True)


def merge(name: str, inputs: Sequence[str], fields: Sequence[RFInfo]) -> RFInfo:
    """The field of a node that joins several inputs (add, concat, mul)."""
    if any(f.status == WHOLE for f in fields):
        return RFInfo(status=WHOLE)
    if any(f.status != OK for f in fields):
        return RFInfo(status=UNKNOWN)
    if len(fields) == 1:
        return fields[0]
    ndim = fields[0].ndim
    size, stride, padding = [], [], []
    off_centre: list[str] = []
    off_stride: list[str] = []
    for d in range(ndim):
        rs = [f.size[d] for f in fields]
        js = [f.stride[d] for f in fields]
        ps = [f.padding[d] for f in fields]
        dim = _dim_label(ndim, d)
        if len(set(js)) == 1:
            lo = max(ps)
            hi = max(r - 1 - p for r, p in zip(rs, ps, strict=True))
            size.append(hi + lo + 1)
            stride.append(js[0])
            padding.append(lo)
            if len({r - 1 - 2 * p for r, p in zip(rs, ps, strict=True)}) > 1:  # twice the centre offset: integers
                where = ", ".join(f"`{i}` {(r - 1) / 2 - p:g}" for i, r, p in zip(inputs, rs, ps, strict=True))
                off_centre.append(f"{dim}: {where}")
        else:
            w = max(range(len(fields)), key=lambda i: (rs[i], ps[i]))
            size.append(rs[w])
            stride.append(js[w])
            padding.append(ps[w])
            off_stride.append(f"{dim}: " + ", ".join(f"`{i}` {j}" for i, j in zip(inputs, js, strict=True)))
    warnings: list[str] = []
    if off_stride:
        warnings.append(
            f"layer `{name}` joins paths that disagree on effective stride ({'; '.join(off_stride)}): "
            "their units do not line up, so no single receptive field fits every unit; reported: the widest input's"
        )
    if off_centre:
        warnings.append(
            f"layer `{name}` joins paths whose receptive-field centres are not aligned "
            f"(centre of unit 0, in input pixels: {'; '.join(off_centre)}); reported: the union of their fields"
        )
    return RFInfo(tuple(size), tuple(stride), tuple(padding), OK, tuple(warnings))


def _broadcasts_space(inputs: Sequence[str], shapes: Mapping[str, Shape], out: Shape) -> bool:
    return any(tuple(shapes[i][2:]) != tuple(out[2:]) for i in inputs)


def _dim_label(ndim: int, d: int) -> str:
    names = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(ndim)
    return names[d] if names else f"dim {d + 2}"


def dim_names(ndim: int) -> list[str]:
    return [_dim_label(ndim, d) for d in range(ndim)]


def receptive_fields(graph: Graph, shapes: Mapping[str, Shape] | None = None) -> dict[str, RFInfo]:
    """Every node's receptive field (and ``input``'s, the identity), by node name.

    ``shapes`` (batch included, as :func:`cnnscope.analyze.shapes.infer_shapes` gives) is
    computed when not given. Torch-free.
    """
    if shapes is None:
        from cnnscope.analyze.shapes import infer_shapes

        shapes = infer_shapes(graph)
    ndim = max(0, len(graph.input_shape) - 1)
    fields: dict[str, RFInfo] = {INPUT: input_rf(ndim)}
    steps: dict[tuple[Any, ...], RFMap] = {}  # once per layer object and input shapes
    for node in graph.nodes:
        # constant inputs (learned parameters) depend on no input position: left out of the union
        live = [i for i in node.inputs if fields[i].status != CONSTANT]
        srcs = [fields[i] for i in live] or ([input_rf(ndim)] if not node.inputs else [])
        ins = [shapes[i] for i in node.inputs]
        key = (id(node.layer), *ins)
        step = steps.get(key)
        if step is None:
            step = steps[key] = node.layer.rf(ins)
        if not srcs or step.kind is RFKind.CONSTANT:
            fields[node.name] = RFInfo(status=CONSTANT)
            continue
        base = merge(node.name, live, srcs) if len(srcs) > 1 else srcs[0]
        if len(srcs) == 1 and base.warnings:  # warnings are said where they arise, not downstream
            base = replace(base, warnings=())
        # a window over the first input whose other inputs are constant (a convolution's weight
        # input, computed from parameters) maps positions as its window says, whatever the shapes
        windowed = step.windowed and live == list(node.inputs[:1])
        spread = _broadcasts_space(live, shapes, shapes[node.name])
        if len(node.inputs) > 1 and base.status == OK and not windowed and spread:
            # a 1×1 map spread over space (a gate not from global pooling): every output unit sees
            # the same input window, which no size/stride/padding describes
            base = RFInfo(status=UNKNOWN)
        if base.status == WHOLE or step.kind is RFKind.GLOBAL:
            out = _collapsed(base, shapes[live[0]] if live else (), graph.input_shape[1:])
        elif step.kind is RFKind.POINTWISE:
            out = base
        elif base.status != OK or not step.windowed or len(step.kernel) != base.ndim:
            out = RFInfo(status=UNKNOWN, warnings=base.warnings)  # upsampling, or a change of spatial rank
        else:
            out = apply_step(base, step)
            if base.warnings:
                out = replace(out, warnings=base.warnings)
        fields[node.name] = out
    return fields


@analyzer("rf", order=60, requires=("shapes",), doc="receptive field: size, effective stride and padding per dim")
def run(ctx: Context, report: Report) -> None:
    fields = receptive_fields(ctx.graph, ctx.shapes)
    spatial = ctx.graph.input_shape[1:]
    report.add_columns(Column("rf", "RF", "rf"))
    reached: str | None = None
    for node in ctx.graph.nodes:
        f = fields[node.name]
        report.row(node.name)["rf"] = f.to_json(spatial)
        for w in f.warnings:
            report.warn(w, node, "rf-misaligned")
        if reached is None and f.covers(spatial):
            reached = node.name
    report.totals["rf"] = fields[ctx.graph.output].to_json(spatial)
    report.totals["rf_reaches_input_at"] = reached
    report.declare({"rf.size": "count", "rf.stride": "count", "rf.padding": "count", "rf.coverage": "percent"})
