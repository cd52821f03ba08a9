"""``extrainput``: a further input of a model whose forward takes several (RAFT's second
image, a conditioning map).

The graph has one input, ``input``, whose batch every shape shares; another input is a node
that takes ``input`` only for its batch size and gives ``(batch, *shape)``. It holds no
parameters and computes nothing. Receptive field: ``constant`` with respect to ``input``
(receptive fields are measured on the first input).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import IntList, fld


@register
@layer_dataclass
class ExtraInput(Layer):
    torch_name: ClassVar[str] = "ExtraInput"
    torch_home: ClassVar[str] = "_torch_ops"
    family: ClassVar[str] = "source"
    summary: ClassVar[str] = "another input of the model, of `shape` (no batch); `from:` sets the batch only"

    shape: tuple[int, ...] = fld(IntList(min=1, empty=True), doc="the input's shape without the batch")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if not ins[0]:
            raise ShapeError("shape-mismatch", "an extra input takes its batch from an input with a batch dim")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return (ins[0][0], *self.shape)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.CONSTANT

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [Step("output shape", f"another input: batch {ins[0][0]} × {_fmt(self.shape)}", _fmt(out))]


@register
@layer_dataclass
class Constant(Layer):
    torch_name: ClassVar[str] = "Constant"
    torch_home: ClassVar[str] = "_torch_ops"
    family: ClassVar[str] = "source"
    summary: ClassVar[str] = "a tensor computed from no input (a mask, a gathered table); `from:` is nominal"
    max_inputs: ClassVar[int | None] = None  # what it was computed from (parameters, other constants)

    shape: tuple[int, ...] = fld(IntList(min=0, empty=True), doc="its shape (it does not follow the batch)")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return tuple(self.shape)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.CONSTANT

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [Step("output shape", "a constant, computed from no input", _fmt(out))]
