"""Convolutions whose weight is an input: ``F.conv2d(x, w)`` with ``w`` computed in the forward
(weight standardization: timm's StdConv / ScaledStdConv, NF-Nets), held as a buffer (a fixed
blur filter: TResNet's anti-aliasing) or made from the data (dynamic filters).

``dynamicconv1d/2d/3d`` and ``dynamicconvtranspose1d/2d/3d`` take ``(x, w)`` or ``(x, w, b)``;
the weight's shape gives the output channels and the kernel, as ``F.conv*`` reads them. What
the weight is computed from is counted where it is computed (a ``parameter`` node, and the
nodes after it): the layer itself holds at most a learned bias (``bias: true``). Shapes, MACs,
the window and its receptive field are those of the ``conv*d`` with the same configuration
(built from the weight's shape, and asked); the weight input depends on no input position
when it is computed from parameters or constants, so the field is the convolution's.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import check_count
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, Step, Window, define, layer_dataclass, registry
from cnnscope.layers.fields import Bool, FieldError, Int, Ints, Padding, fld


@layer_dataclass
class _DynamicConvNd(Layer):
    family: ClassVar[str] = "conv"
    transposed: ClassVar[bool] = False
    learned_linear: ClassVar[bool] = True
    convolution: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 3

    stride: tuple[int, ...] = fld(Ints(), 1, "step between windows")
    padding: Any = fld(Padding(), 0, "zero padding on both sides; `same` or `valid`")
    dilation: tuple[int, ...] = fld(Ints(), 1, "spacing between kernel taps")
    groups: int = fld(Int(min=1), 1, "channel groups; groups == in_channels is depthwise")
    bias: bool = fld(Bool(), False, "a learned bias of its own per output channel (a computed one is a third input)")

    def validate(self) -> None:
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise FieldError("padding `same` is not supported for strided convolutions (PyTorch refuses it)", "padding")

    def _kind(self) -> str:
        return f"{'convtranspose' if self.transposed else 'conv'}{self.ndim}d"

    def conv(self, ins: Sequence[Shape]) -> Layer:
        """The ``conv*d`` layer this one is, its weight's shape read from the second input."""
        check_count(self, ins)
        x, w = ins[0], ins[1]
        nd = self.ndim or 1
        if len(w) != nd + 2:
            raise ShapeError("shape-mismatch", f"a {nd}-d convolution needs a {nd + 2}-d weight, got {list(w)}")
        cin = w[0] if self.transposed else w[1] * self.groups
        if len(x) == nd + 2 and x[1] != cin:
            what = f"weight {list(w)}" + ("" if self.transposed else f" with groups={self.groups}")
            raise ShapeError("shape-mismatch", f"the {what} takes {cin} input channels, got {x[1]} in {list(x)}")
        cout = w[1] * self.groups if self.transposed else w[0]
        if len(ins) == 3 and (self.bias or tuple(ins[2]) != (cout,)):
            why = "it has a bias of its own (bias: true)" if self.bias else f"the bias input must be ({cout},)"
            raise ShapeError("shape-mismatch", f"cannot add the bias input {list(ins[2])}: {why}")
        fields: dict[str, Any] = {
            "out_channels": cout,
            "kernel_size": tuple(w[2:]),
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
            "bias": self.bias or len(ins) == 3,
            "trainable": self.trainable,
        }
        if self.transposed:
            fields["output_padding"] = self.output_padding  # type: ignore[attr-defined]
        layer = registry()[self._kind()](**fields)
        try:
            layer.validate()
        except FieldError as exc:
            raise ShapeError("bad-groups" if exc.field == "groups" else "shape-mismatch", str(exc)) from None
        return layer

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        super().check_inputs(ins)
        self.conv(ins).check_inputs(ins[:1])

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return self.conv(ins).out_shape(ins[:1])

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        cout = ins[1][1] * self.groups if self.transposed else ins[1][0]
        return self._params(cout if self.bias else 0)

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        return self.conv(ins).macs(ins[:1], out)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return self.conv(ins).other_ops(ins[:1], out)

    def window(self, ins: Sequence[Shape]) -> Window | None:
        return self.conv(ins).window(ins[:1])

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return self.conv(ins).rf(ins[:1])

    def has_bias(self) -> bool:
        return bool(self.bias)

    def channel_groups(self) -> int:
        return int(self.groups)

    def warnings(self, ins: Sequence[Shape], out: Shape) -> list[str]:
        return self.conv(ins).warnings(ins[:1], out)

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _functional_torch

        cout = ins[1][1] * self.groups if self.transposed else ins[1][0]
        module = _functional_torch.DynamicConv(
            self.ndim or 1,
            self.transposed,
            tuple(self.stride),
            self.padding if isinstance(self.padding, str) else tuple(self.padding),
            tuple(self.dilation),
            self.groups,
            cout if self.bias else None,
            tuple(getattr(self, "output_padding", ())),
        )
        return self._freeze(module)

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        steps = [s for s in self.conv(ins).explain(ins[:1], out) if s.what != "parameters"]
        own = self.params(ins).total
        weight = f"the weight {list(ins[1])} is an input: {prod(ins[1]):,} values, counted where they are computed"
        steps.insert(-1, Step("parameters", weight + (f"; its own bias: {own}" if own else ""), f"{own:,}"))
        return steps


@layer_dataclass
class _DynamicConvTransposeNd(_DynamicConvNd):
    transposed: ClassVar[bool] = True

    padding: Any = fld(Padding(strings=False), 0, "removes padding from both sides of the output")
    output_padding: tuple[int, ...] = fld(
        Ints(min=0), 0, "extra size added to one side of the output (must be < stride or dilation)"
    )

    def validate(self) -> None:
        for op, s, d in zip(self.output_padding, self.stride, self.dilation, strict=True):
            if op >= max(s, d):
                raise FieldError(
                    f"output_padding ({op}) must be smaller than stride ({s}) or dilation ({d})", "output_padding"
                )


for _nd in (1, 2, 3):
    define(
        _DynamicConvNd,
        f"DynamicConv{_nd}d",
        summary=f"{_nd}-d convolution whose weight is an input: F.conv{_nd}d(x, w[, b])",
        ndim=_nd,
    )
    define(
        _DynamicConvTransposeNd,
        f"DynamicConvTranspose{_nd}d",
        summary=f"{_nd}-d transposed convolution whose weight is an input: F.conv_transpose{_nd}d(x, w[, b])",
        ndim=_nd,
    )
