"""Convolutions: conv1d/2d/3d and convtranspose1d/2d/3d, from one N-d implementation."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, Step, Window, _fmt, define, layer_dataclass
from cnnscope.layers.fields import Bool, Choice, FieldError, Int, Ints, Padding, fld
from cnnscope.layers.window import dim_name, window_warnings

# the course's reasons, shown by `explain` beside the steps (pooling shares the window's)
WHY_WINDOW_OUT = (
    "the window slides over the padded input in steps of S: one position to start, plus one per "
    "stride that still fits; padding keeps the border in play"
)
WHY_WINDOW_FLOOR = (
    "the stride does not divide I − K + 2P, so the last step would run past the edge: torch rounds "
    "down and the pixels after the last window are never seen"
)
_WHY_PARAMS = (
    "each filter spans the full depth of its input and adds one bias; there is one filter per "
    "output channel, and the image size does not appear in the count"
)
_WHY_MACS = "every output value is one dot product between a filter and one window of the input"


def conv_out(size: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """PyTorch's output size: floor((I + P_lo + P_hi - d(k-1) - 1) / s) + 1."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


@layer_dataclass
class _ConvNd(Layer):
    family: ClassVar[str] = "conv"
    transposed: ClassVar[bool] = False
    learned_linear: ClassVar[bool] = True
    convolution: ClassVar[bool] = True

    out_channels: int = fld(Int(min=1), doc="output channels (filters)")
    kernel_size: tuple[int, ...] = fld(Ints(), doc="kernel size, one per spatial dim or one for all")
    stride: tuple[int, ...] = fld(Ints(), 1, "step between windows")
    padding: Any = fld(Padding(), 0, "zero padding on both sides; `same` or `valid`")
    dilation: tuple[int, ...] = fld(Ints(), 1, "spacing between kernel taps")
    groups: int = fld(Int(min=1), 1, "channel groups; groups == in_channels is depthwise")
    bias: bool = fld(Bool(), True, "add a learned bias per output channel")
    padding_mode: str = fld(Choice(("zeros", "reflect", "replicate", "circular")), "zeros", "how padding is filled")

    def validate(self) -> None:
        if self.out_channels % self.groups:
            raise FieldError(
                f"out_channels ({self.out_channels}) must be divisible by groups ({self.groups})",
                field="groups",
            )
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise FieldError(
                "padding `same` is not supported for strided convolutions (PyTorch refuses it)",
                field="padding",
                hint="give the padding as a number, e.g. (kernel_size - 1) // 2",
            )

    def pads(self) -> list[tuple[int, int]]:
        """Padding (low, high) per spatial dim, with PyTorch's split for `same`."""
        nd = len(self.kernel_size)
        if self.padding == "valid":
            return [(0, 0)] * nd
        if self.padding == "same":
            out = []
            for k, d in zip(self.kernel_size, self.dilation):
                total = d * (k - 1)
                out.append((total // 2, total - total // 2))
            return out
        return [(p, p) for p in self.padding]

    def keff(self) -> tuple[int, ...]:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        super().check_inputs(ins)
        cin = ins[0][1]
        if cin % self.groups:
            raise ShapeError(
                "bad-groups",
                f"has groups={self.groups}, which does not divide its {cin} input channels",
                hint="in_channels and out_channels must both be divisible by groups",
            )
        if self.padding_mode in ("reflect", "circular"):
            for i, (lo, hi) in enumerate(self.pads()):
                size = ins[0][2 + i]
                limit = size - 1 if self.padding_mode == "reflect" else size
                if max(lo, hi) > limit:
                    raise ShapeError(
                        "shape-mismatch",
                        f"{self.padding_mode} padding {max(lo, hi)} is too large for input size {size} "
                        f"along {dim_name(len(self.kernel_size), i)}",
                    )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, _cin, *spatial = ins[0]
        out = []
        for i, size in enumerate(spatial):
            lo, hi = self.pads()[i]
            o = conv_out(size, self.kernel_size[i], self.stride[i], lo, hi, self.dilation[i])
            if o < 1:
                raise ShapeError(
                    "shape-too-small",
                    f"output size along {dim_name(len(spatial), i)} would be {o}: input {size} + "
                    f"padding {lo + hi} is smaller than the effective kernel {self.keff()[i]}",
                    hint="use a smaller kernel or stride, more padding, or a larger input",
                )
            out.append(o)
        return (n, self.out_channels, *out)

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        cin = ins[0][1]
        n = self.out_channels * (cin // self.groups) * prod(self.kernel_size)
        return self._params(n + (self.out_channels if self.bias else 0))

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        cin = ins[0][1]
        return prod(out) * (cin // self.groups) * prod(self.kernel_size)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        return {"bias": prod(out)} if self.bias else {}

    def window(self, ins: Sequence[Shape]) -> Window | None:
        return Window(tuple(self.kernel_size), tuple(self.stride), tuple(self.dilation), tuple(self.pads()))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.window(self.keff(), tuple(self.stride), tuple(lo for lo, _ in self.pads()))

    def has_bias(self) -> bool:
        return bool(self.bias)

    def channel_groups(self) -> int:
        return int(self.groups)

    def border_fill(self) -> str:
        return str(self.padding_mode)

    def warnings(self, ins: Sequence[Shape], out: Shape) -> list[str]:
        return window_warnings(self.window(ins), ins[0], out)

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        kw = super().torch_kwargs(ins)
        kw["in_channels"] = ins[0][1]
        return kw

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        cin = ins[0][1]
        steps = []
        nd = len(self.kernel_size)
        for i, size in enumerate(ins[0][2:]):
            lo, hi = self.pads()[i]
            k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
            keff = f"{d}·({k} − 1) + 1" if d != 1 else f"{k}"
            pad = f"2·{lo}" if lo == hi else f"{lo} + {hi}"
            floor = (size + lo + hi - d * (k - 1) - 1) % s != 0
            ratio = f"({size} − {keff} + {pad})/{s}"
            formula = f"floor({ratio}) + 1" if floor else f"{ratio} + 1"
            why = WHY_WINDOW_FLOOR if floor else WHY_WINDOW_OUT
            steps.append(Step(f"output {dim_name(nd, i)}", formula, str(out[2 + i]), why))
        kprod = "·".join(str(k) for k in self.kernel_size)
        per = f"{kprod}·{cin // self.groups}" + (" + 1" if self.bias else "")
        weights = prod(self.kernel_size) * (cin // self.groups)
        steps.append(
            Step(
                "parameters",
                f"({per})·{self.out_channels}" + (f"   (groups={self.groups})" if self.groups > 1 else ""),
                f"{(weights + (1 if self.bias else 0)) * self.out_channels:,}",
                _WHY_PARAMS,
            )
        )
        steps.append(
            Step(
                "MACs",
                f"{_fmt(out)} outputs × {kprod}·{cin // self.groups} taps each",
                f"{self.macs(ins, out):,}",
                _WHY_MACS,
            )
        )
        return steps


@layer_dataclass
class _ConvTransposeNd(_ConvNd):
    transposed: ClassVar[bool] = True

    padding: Any = fld(Padding(strings=False), 0, "removes padding from both sides of the output")
    output_padding: tuple[int, ...] = fld(
        Ints(min=0), 0, "extra size added to one side of the output (must be < stride or dilation)"
    )

    def validate(self) -> None:
        super().validate()
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise FieldError(
                    f"output_padding ({op}) must be smaller than stride ({s}) or dilation ({d})",
                    field="output_padding",
                )
        if self.padding_mode != "zeros":
            raise FieldError("transposed convolutions only support padding_mode `zeros`", field="padding_mode")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, _cin, *spatial = ins[0]
        out = []
        for i, size in enumerate(spatial):
            k, s, d, p = self.kernel_size[i], self.stride[i], self.dilation[i], self.padding[i]
            o = (size - 1) * s - 2 * p + d * (k - 1) + self.output_padding[i] + 1
            if o < 1:
                raise ShapeError(
                    "shape-too-small",
                    f"output size along {dim_name(len(spatial), i)} would be {o}: padding {p} "
                    f"removes more than the transposed convolution produces",
                )
            out.append(o)
        return (n, self.out_channels, *out)

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        cin = ins[0][1]
        n = cin * (self.out_channels // self.groups) * prod(self.kernel_size)
        return self._params(n + (self.out_channels if self.bias else 0))

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        # every input element is multiplied into prod(k) * Cout/groups outputs
        return prod(ins[0]) * (self.out_channels // self.groups) * prod(self.kernel_size)

    def window(self, ins: Sequence[Shape]) -> Window | None:
        return None  # it spreads each input position over a window of outputs: no window slides over its input

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        steps = []
        nd = len(self.kernel_size)
        for i, size in enumerate(ins[0][2:]):
            k, s, d, p = self.kernel_size[i], self.stride[i], self.dilation[i], self.padding[i]
            op = self.output_padding[i]
            steps.append(
                Step(
                    f"output {dim_name(nd, i)}",
                    f"({size} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1",
                    str(out[2 + i]),
                    WHY_WINDOW_OUT,
                )
            )
        cin = ins[0][1]
        steps.append(
            Step(
                "parameters",
                f"{cin}·{self.out_channels // self.groups}·{'·'.join(map(str, self.kernel_size))}"
                + (f" + {self.out_channels}" if self.bias else ""),
                f"{self.params(ins).total:,}",
                _WHY_PARAMS,
            )
        )
        steps.append(Step("MACs", "input elements × Cout/groups × kernel taps", f"{self.macs(ins, out):,}", _WHY_MACS))
        return steps


for _nd, _dims in ((1, "(N, C, L)"), (2, "(N, C, H, W)"), (3, "(N, C, D, H, W)")):
    define(_ConvNd, f"Conv{_nd}d", summary=f"{_nd}-d convolution over {_dims}", ndim=_nd)
    define(
        _ConvTransposeNd,
        f"ConvTranspose{_nd}d",
        summary=f"{_nd}-d transposed convolution (learned upsampling)",
        ndim=_nd,
    )
