"""Translation equivariance from the graph alone: which shifts of the input each layer commutes with.

Convolution and pooling with stride 1 commute with every shift of their input. A layer with
stride s keeps one position in s, so a network is equivariant only to shifts by multiples of
its cumulative stride; between those it aliases (Zhang, "Making Convolutional Networks
Shift-Invariant Again", ICML 2019; Azulay & Weiss, JMLR 2019). Walking the graph from the
input, each node carries, per spatial dim:

- its ``lattice``: the input shifts (in pixels) that commute with it — multiples of the
  lattice. A windowed layer of stride s on an input of effective stride j gives
  ``j' = j·s`` and ``lattice' = lcm(lattice, j')``; a merge intersects its inputs' lattices
  (the lcm per dim);
- its effective ``stride`` j: a lattice shift s of the input moves its output by s / j.

A node's ``status`` says what kind of map it is:

- ``equivariant`` — a spatial map; a lattice shift moves it by s / j positions;
- ``invariant`` — after global pooling (a layer that pools, ``Layer.pools``, whose field is the
  whole input): a lattice shift leaves it unchanged, and so everything computed from it;
- ``positional`` — after flatten or a dense layer on a spatial map: positions get weights of
  their own, and no shift commutes with the output (flatten-into-linear is not invariant);
- ``misaligned`` — a merge of branches with different effective strides: a shift moves them by
  different amounts, so no single shift of the output matches;
- ``n/a`` — upsampling, transposed convolutions, spatial concatenation: positions are not an
  integer-stride map of the input's (as for the receptive field), so no lattice is claimed.

Where aliasing enters: a strided layer (conv or pool) subsamples; it is ``anti-aliased`` when
a low-pass filter (:meth:`Layer.lowpass`: average pooling with a kernel > 1) comes before it
through per-position layers only (activations, batch norm, 1×1 convs), or when the layer is itself an
average pool whose window is at least its stride (a box filter, Zhang's weakest blur);
otherwise it is ``aliasing``. Where padding leaks absolute position: a layer that pads with
anything but a circular fill (:meth:`Layer.border_fill`).

The lattice is exact in the interior (away from the border) for any padding, and on the whole
map (the torus, circular shifts) when every layer pads circularly and each strided layer's
input size is a multiple of its stride. Torch-free.

What the whole network comes to, and ``explain``'s line per layer, are
:mod:`cnnscope.analyze._shift_summary`; the analyzer, and the module to import these names
from, is :mod:`cnnscope.analyze.shift`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import lcm
from typing import Any

from cnnscope.errors import UsageError
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import RFKind, RFMap, Shape
from cnnscope.records import Record, record

EQUIVARIANT = "equivariant"
INVARIANT = "invariant"
POSITIONAL = "positional"
MISALIGNED = "misaligned"
UNKNOWN = "n/a"

ALIASING = "aliasing"
ANTI_ALIASED = "anti-aliased"
BOX_FILTERED = "box-filtered"

CIRCULAR = "circular"


@record
class ShiftInfo(Record):
    """What one node's output does under shifts of the network input (per spatial dim)."""

    status: str
    lattice: tuple[int, ...] | None = None  # input shifts (pixels) that commute: multiples of these
    stride: tuple[int, ...] | None = None  # equivariant: a lattice shift s moves the output by s / stride
    set_by: tuple[str, ...] = ()  # the strided layers the lattice comes from, in graph order
    subsamples: tuple[int, ...] | None = None  # this layer's own stride, where it is > 1 somewhere
    aliasing: str | None = None  # for a subsampling layer: aliasing | anti-aliased | box-filtered
    pads: bool = False  # this layer reads beyond its input's border
    fill: str | None = None  # what it reads there (Layer.border_fill), where it pads
    lowpassed: bool = False  # low-pass filtered since the last subsampling (the next stride is anti-aliased)
    becomes: str | None = None  # invariant / positional: this node is where the network becomes so
    warnings: tuple[str, ...] = ()

    @property
    def leaks(self) -> bool:
        """Pads with a fill that records where the border is (anything but circular)."""
        return self.pads and self.fill != CIRCULAR

    def shift(self) -> int | None:
        """The smallest diagonal shift (the same in every dim) in the lattice: lcm over dims."""
        return lcm(*self.lattice) if self.lattice else None

    def sentence(self) -> str:
        """``equivariant to shifts of 4 pixels`` and the like, for explain and the table."""
        lat = pixels(self.lattice)
        if self.status == EQUIVARIANT:
            moved = (
                ""
                if self.stride == self.lattice
                else f" (the output moves by s / {'×'.join(map(str, self.stride or ()))})"
            )
            return f"equivariant to shifts of {lat}{moved}"
        if self.status == INVARIANT:
            return f"invariant to shifts of {lat}"
        if self.status == POSITIONAL:
            return "not invariant to any shift (flatten / dense: positions are told apart)"
        if self.status == MISALIGNED:
            return "equivariant to no shift (its inputs move by different amounts)"
        return "n/a (not an integer-stride map: upsampling or a spatial join)"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "lattice": list(self.lattice) if self.lattice else None,
            "stride": list(self.stride) if self.stride else None,
            "set_by": list(self.set_by),
            "subsamples": list(self.subsamples) if self.subsamples else None,
            "aliasing": self.aliasing,
            "pads": self.pads,
            "fill": self.fill,
            "leaks_position": self.leaks,
            "becomes": self.becomes,
            "text": self.sentence(),
        }


def pixels(lattice: Sequence[int] | None) -> str:
    if not lattice:
        return "–"
    if len(set(lattice)) == 1:
        k = lattice[0]
        return f"{k} pixel{'s' if k != 1 else ''}"
    return "×".join(map(str, lattice)) + " pixels"


def spatial_ndim(graph: Graph) -> int:
    """The input's spatial rank; exit 2 when there is none (a 0-d input or a plain vector)."""
    nd = len(graph.input_shape) - 1
    if nd < 1:
        raise UsageError(
            "no-spatial-dims",
            f"`{graph.name}` takes a {list(graph.input_shape)} input: no spatial dims, so no shift to analyze",
            hint="shift analysis needs an input with positions: [C, L], [C, H, W] or [C, D, H, W]",
        )
    return nd


def _pads(step: RFMap, in_spatial: Sequence[int], out_spatial: Sequence[int]) -> bool:
    """Reads beyond the border on either side: low padding, or a last window that ends past the input."""
    for k, s, lo, n, m in zip(step.kernel, step.stride, step.padding, in_spatial, out_spatial, strict=True):
        if lo > 0 or (m - 1) * s + k - lo > n:
            return True
    return False


def _merge(node: Node, infos: Sequence[ShiftInfo], shapes: Mapping[str, Shape], out: Shape) -> ShiftInfo:
    if len(infos) == 1:  # what flows on: the map's facts, not the layer's own (stride, padding, ...)
        i = infos[0]
        return ShiftInfo(i.status, i.lattice, i.stride, i.set_by, lowpassed=i.lowpassed)
    for s in (UNKNOWN, POSITIONAL, MISALIGNED):
        if any(i.status == s for i in infos):
            return ShiftInfo(s, set_by=_union(i.set_by for i in infos))
    lattice = tuple(lcm(*d) for d in zip(*[i.lattice or () for i in infos], strict=True))
    set_by = _union(i.set_by for i in infos)
    # a 1×1 map spread over space (a gate) moves by nothing under its lattice shifts: it acts invariant
    spatial = [
        i
        for name, i in zip(node.inputs, infos, strict=True)
        if i.status == EQUIVARIANT and not (all(d == 1 for d in shapes[name][2:]) and any(d > 1 for d in out[2:]))
    ]
    if not spatial:
        return ShiftInfo(INVARIANT, lattice, set_by=set_by)
    strides = {i.stride for i in spatial}
    if len(strides) > 1:
        where = ", ".join(
            f"`{n}` {'×'.join(map(str, i.stride or ()))}" for n, i in zip(node.inputs, infos, strict=True)
        )
        return ShiftInfo(
            MISALIGNED,
            set_by=set_by,
            warnings=(
                f"layer `{node.name}` joins branches with different effective strides ({where}): "
                "a shift of the input moves them by different amounts",
            ),
        )
    return ShiftInfo(EQUIVARIANT, lattice, spatial[0].stride, set_by, lowpassed=all(i.lowpassed for i in spatial))


def _union(parts: Any) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for p in parts:
        out.update(dict.fromkeys(p))
    return tuple(out)


def _apply(node: Node, base: ShiftInfo, ins: Sequence[Shape], out: Shape) -> ShiftInfo:
    layer = node.layer
    step = layer.rf(list(ins))
    if base.status != EQUIVARIANT:  # invariant stays invariant, whatever follows; the rest stays unknown
        return base
    if step.kind is RFKind.POINTWISE:
        return base
    if step.kind is RFKind.GLOBAL:
        if layer.pools:  # global pooling treats positions alike: a lattice shift changes nothing
            return ShiftInfo(INVARIANT, base.lattice, None, base.set_by, becomes=INVARIANT)
        return ShiftInfo(POSITIONAL, None, None, base.set_by, becomes=POSITIONAL)
    if not step.windowed or len(step.kernel) != len(base.stride or ()):
        return ShiftInfo(UNKNOWN, set_by=base.set_by)
    assert base.stride is not None and base.lattice is not None
    stride = tuple(j * s for j, s in zip(base.stride, step.stride, strict=True))
    lattice = tuple(lcm(a, b) for a, b in zip(base.lattice, stride, strict=True))
    pads = _pads(step, ins[0][2:], out[2:]) if len(out) == len(ins[0]) else False
    fill = layer.border_fill() if pads else None
    if all(s == 1 for s in step.stride):
        # a low-pass survives layers that look at one position (1×1 convs, pads), not another window
        lowpassed = layer.lowpass() or (base.lowpassed and all(k == 1 for k in step.kernel))
        return ShiftInfo(EQUIVARIANT, lattice, stride, base.set_by, pads=pads, fill=fill, lowpassed=lowpassed)
    if not layer.aliases(ins):
        verdict = BOX_FILTERED  # an average over a window at least as wide as the stride: filters, then keeps 1 in s
    elif base.lowpassed:
        verdict = ANTI_ALIASED
    else:
        verdict = ALIASING
    return ShiftInfo(
        EQUIVARIANT,
        lattice,
        stride,
        (*base.set_by, node.name),
        subsamples=tuple(step.stride),
        aliasing=verdict,
        pads=pads,
        fill=fill,
    )


def shift_infos(graph: Graph, shapes: Mapping[str, Shape] | None = None) -> dict[str, ShiftInfo]:
    """Every node's :class:`ShiftInfo` (and ``input``'s: lattice 1), by node name. Torch-free."""
    nd = spatial_ndim(graph)
    if shapes is None:
        from cnnscope.analyze.shapes import infer_shapes

        shapes = infer_shapes(graph)
    one = (1,) * nd
    infos: dict[str, ShiftInfo] = {INPUT: ShiftInfo(EQUIVARIANT, one, one)}
    for node in graph.nodes:
        srcs = [infos[i] for i in node.inputs] or [infos[INPUT]]
        out = shapes[node.name]
        base = _merge(node, srcs, shapes, out)
        infos[node.name] = _apply(node, base, [shapes[i] for i in node.inputs], out)
    return infos
