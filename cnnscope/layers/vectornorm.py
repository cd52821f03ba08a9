"""``vectornorm``: ``torch.linalg.vector_norm(x, ord, dims, keepdim)`` (and ``x.norm(p, dim)``):
the ``ord``-norm over some dims (all of them when ``dims`` is null), as ConvNeXt-v2's global
response normalization takes the L2 norm over space.

Op rule (docs/conventions.md, category ``norm``): a power (``|x|`` for ±inf) and an
accumulation per input element, and a root per output: ``2·numel(input) + n``. No parameters,
no multiply-adds (FlopCounterMode counts none). Shapes and the receptive field are those of
the ``reduce`` over the same dims (global over every spatial dim, pointwise over the batch or
the channels with ``keepdim``, otherwise not a sliding window).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register, registry
from cnnscope.layers.fields import Bool, Dims, FieldError, FloatOrInf, as_float, fld


@register
@layer_dataclass
class VectorNorm(Layer):
    torch_name: ClassVar[str] = "VectorNorm"  # cnnscope's own module
    family: ClassVar[str] = "reduce"
    pools: ClassVar[bool] = True
    summary: ClassVar[str] = "the ord-norm over dims (torch.linalg.vector_norm, x.norm(p, dim))"

    ord: float | str = fld(FloatOrInf(), 2.0, "the norm's order: 2 (Euclidean), 1, inf (max |x|), -inf, 0, ...")
    dims: tuple[int, ...] | None = fld(Dims(), None, "the dims to reduce (null: all of them, the batch too)")
    keepdim: bool = fld(Bool(), False, "keep each reduced dim with size 1")

    def validate(self) -> None:
        if self.dims is not None and len(set(self.dims)) != len(self.dims):
            raise FieldError(f"dims {list(self.dims)} repeat a dim", "dims")

    def _reduce(self, ins: Sequence[Shape]) -> Layer:
        dims = tuple(range(len(ins[0]))) if self.dims is None else self.dims
        return registry()["reduce"](op="sum", dims=dims, keepdim=self.keepdim)

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._reduce(ins).check_inputs(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return self._reduce(ins).out_shape(ins)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"norm": 2 * prod(ins[0]) + prod(out)}

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return self._reduce(ins).rf(ins)

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _functional_torch

        return _functional_torch.VectorNorm(as_float(self.ord), self.dims, self.keepdim)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        over = "every dim" if self.dims is None else f"dims {list(self.dims)}"
        return [
            Step("output shape", f"the {as_float(self.ord):g}-norm over {over}", _fmt(out)),
            Step("ops", f"2 per input value ({_fmt(ins[0])}) + a root per output", f"{2 * prod(ins[0]) + prod(out):,}"),
        ]
