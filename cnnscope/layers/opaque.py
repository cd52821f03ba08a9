"""The opaque layer: an op cnnscope has no type for, captured from a torch module.

The torch frontend makes one only as a last resort. Its output shape and parameters are
measured at capture, and so are its MACs when the dispatcher can count them (a
``FlopCounterMode``-style count of that node alone): the totals are then complete, and a
warning names the node. It has no receptive field, no explanation and no export.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from cnnscope.errors import SpecError
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, layer_dataclass


@layer_dataclass
class Unsupported(Layer):
    """An op with no cnnscope layer type: its measured shape, parameters and MACs."""

    type_name: ClassVar[str] = "unsupported"
    family: ClassVar[str] = "opaque"
    summary: ClassVar[str] = "an op cnnscope has no layer type for (captured from a torch module)"
    opaque: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = None

    op: str = ""
    shape: tuple[int, ...] = ()  # measured output shape, at the capture's batch
    param_count: int = 0
    buffer_count: int = 0
    reason: str = ""
    measured_macs: int | None = None  # the dispatcher's count at capture (None: it could not count)
    in0: int = 1  # the leading dim of the first input at capture

    def _factor(self, ins: Sequence[Shape]) -> int:
        """How many times the capture's leading dim the analyzed one is (1 when it is not a
        whole multiple: the measured figures are then kept as they are)."""
        if not ins or not ins[0] or self.in0 < 1:
            return 1
        n = ins[0][0]
        return n // self.in0 if n % self.in0 == 0 and n >= self.in0 else 1

    @property
    def counted(self) -> bool:
        return self.measured_macs is not None

    def cost_known(self) -> bool:
        return self.counted

    def op_label(self) -> str:
        return self.op

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        return None

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        k = self._factor(ins)
        if k == 1 or not self.shape:
            return self.shape
        return (self.shape[0] * k, *self.shape[1:])

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return ParamCount(trainable=self.param_count, buffers=self.buffer_count)

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        return (self.measured_macs or 0) * self._factor(ins)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def warnings(self, ins: Sequence[Shape], out: Shape) -> list[str]:
        why = f": {self.reason}" if self.reason else ""
        if self.counted:
            return [f"`{self.op}` has no cnnscope layer type; its MACs were measured by the dispatcher{why}"]
        return [f"`{self.op}` is not supported; its MACs are unknown (totals are incomplete){why}"]

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        raise SpecError("unsupported-op", f"`{self.op}` has no cnnscope layer type to build")
