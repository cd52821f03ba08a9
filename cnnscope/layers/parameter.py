"""``parameter``: a learned tensor entering the graph (ViT's class token and position
embeddings, relative-position bias tables).

It takes one input, its reference tensor, only for the batch size (usually the model
input); its value depends on no input at all. With ``batched`` its first dim (which must be 1)
follows the reference's batch, as ``cls_token.expand(B, -1, -1)`` does; otherwise the output is
the parameter as it is (``shape``, which then need not start with the batch).

Parameters: ``numel(shape)`` (frozen with ``trainable: false``); no arithmetic. Receptive
field: ``constant`` — the output depends on no input position; a merge with other inputs
ignores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, FieldError, IntList, fld


@register
@layer_dataclass
class Parameter(Layer):
    torch_name: ClassVar[str] = "Parameter"  # cnnscope's own module (holds an nn.Parameter)
    family: ClassVar[str] = "parameter"
    summary: ClassVar[str] = (
        "a learned tensor of `shape` (class token, position embedding); its input sets the batch only"
    )

    shape: tuple[int, ...] = fld(
        IntList(min=0, empty=True), doc="the parameter's own shape (with batched: true, it starts with 1)"
    )
    batched: bool = fld(
        Bool(), False, "expand the first dim (1) to the batch of the input, as cls_token.expand(B, -1, -1)"
    )

    def validate(self) -> None:
        if self.batched and (not self.shape or self.shape[0] != 1):
            raise FieldError(
                f"with batched: true the first dim follows the batch and must be 1, got shape {list(self.shape)}",
                "shape",
            )

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if self.batched and not ins[0]:
            raise ShapeError("shape-mismatch", "batched: true needs an input with a batch dim")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        if self.batched:
            return (ins[0][0], *self.shape[1:])
        return tuple(self.shape)

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return self._params(prod(self.shape))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.CONSTANT

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return self._freeze(_torch_ops.Parameter(self.shape, self.batched))

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        how = (
            f"{list(self.shape)} expanded to the batch {ins[0][0]}" if self.batched else f"{list(self.shape)} as it is"
        )
        return [
            Step("output shape", how, _fmt(out)),
            Step("parameters", "·".join(str(s) for s in self.shape), f"{prod(self.shape):,}"),
        ]
