"""Pooling: max / avg (1-d, 2-d, 3-d) from one windowed base; adaptive max / avg."""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, floor, prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers.base import Layer, RFMap, Shape, Step, Window, define, layer_dataclass
from cnnscope.layers.conv import WHY_WINDOW_FLOOR, WHY_WINDOW_OUT
from cnnscope.layers.fields import Bool, FieldError, Ints, OptInt, fld
from cnnscope.layers.window import dim_name, window_warnings

_WHY_PARAMS = (
    "pooling takes the max (or mean) of each window, channel by channel: nothing to learn, the "
    "depth stays the same and only the map shrinks"
)


def pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``, ceil_mode's last-window rule included."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


@layer_dataclass
class _Pooling(Layer):
    """Max or average pooling (``op``), windowed or adaptive: no weights."""

    family: ClassVar[str] = "pool"
    pools: ClassVar[bool] = True
    op: ClassVar[str] = "max"

    def linear_at_inference(self) -> bool:
        return self.op == "avg"

    def commutes_with_monotone(self) -> bool:
        return self.op == "max"


@layer_dataclass
class _PoolNd(_Pooling):
    input_covers_kernel: ClassVar[bool] = False

    kernel_size: tuple[int, ...] = fld(Ints(), doc="window size")
    stride: Any = fld(Ints(allow_none=True), None, "step between windows (default: kernel_size)")
    padding: tuple[int, ...] = fld(Ints(min=0), 0, "implicit padding, at most half the kernel")
    ceil_mode: bool = fld(Bool(), False, "round the output size up: a last, partial window")

    def validate(self) -> None:
        for k, p in zip(self.kernel_size, self.padding):
            if p > k // 2:
                raise FieldError(
                    f"padding {p} is more than half the kernel size {k} (PyTorch refuses it)",
                    field="padding",
                )

    @property
    def _stride(self) -> tuple[int, ...]:
        if self.stride is None or all(s is None for s in self.stride):
            return tuple(self.kernel_size)
        return tuple(s if s is not None else k for s, k in zip(self.stride, self.kernel_size))

    @property
    def _dilation(self) -> tuple[int, ...]:
        return (1,) * len(self.kernel_size)

    def keff(self) -> tuple[int, ...]:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self._dilation))

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        super().check_inputs(ins)
        if self.input_covers_kernel:  # torch's avg_pool3d wants input >= kernel, padding aside
            for i, (size, k) in enumerate(zip(ins[0][2:], self.kernel_size, strict=True)):
                if size < k:
                    raise ShapeError(
                        "shape-too-small",
                        f"input size {size} along {dim_name(len(self.kernel_size), i)} is smaller than the "
                        f"kernel {k} (PyTorch's avg_pool3d refuses it, even with padding or ceil_mode)",
                    )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, c, *spatial = ins[0]
        out = []
        for i, size in enumerate(spatial):
            o = pool_out(size, self.kernel_size[i], self._stride[i], self.padding[i], self._dilation[i], self.ceil_mode)
            if o < 1:
                raise ShapeError(
                    "shape-too-small",
                    f"output size along {dim_name(len(spatial), i)} would be {o}: input {size} + "
                    f"padding {2 * self.padding[i]} is smaller than the window {self.keff()[i]}",
                    hint="use a smaller window or a larger input",
                )
            out.append(o)
        return (n, c, *out)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        window = prod(self.kernel_size)
        if self.op == "max":
            return {"pool": prod(out) * (window - 1)}  # comparisons
        return {"pool": prod(out) * window}  # window - 1 adds and one divide

    def window(self, ins: Sequence[Shape]) -> Window | None:
        return Window(tuple(self.kernel_size), self._stride, self._dilation, tuple((p, p) for p in self.padding))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.window(self.keff(), self._stride, tuple(self.padding))

    def lowpass(self) -> bool:
        return self.op == "avg" and all(k > 1 for k in self.kernel_size)  # a box filter

    def warnings(self, ins: Sequence[Shape], out: Shape) -> list[str]:
        return window_warnings(self.window(ins), ins[0], out)  # a ceil_mode pool keeps a partial window, drops none

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        kw = super().torch_kwargs(ins)
        kw["stride"] = self._stride
        return kw

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        steps = []
        nd = len(self.kernel_size)
        for i, size in enumerate(ins[0][2:]):
            k, s, p, d = self.kernel_size[i], self._stride[i], self.padding[i], self._dilation[i]
            keff = f"{d}·({k} − 1) + 1" if d != 1 else f"{k}"
            pad = f" + 2·{p}" if p else ""
            rnd = "ceil" if self.ceil_mode else "floor"
            exact = (size + 2 * p - (d * (k - 1) + 1)) % s == 0
            ratio = f"({size} − {keff}{pad})/{s}"
            formula = f"{ratio} + 1" if exact else f"{rnd}({ratio}) + 1"
            why = WHY_WINDOW_OUT if exact or self.ceil_mode else WHY_WINDOW_FLOOR
            steps.append(Step(f"output {dim_name(nd, i)}", formula, str(out[2 + i]), why))
        steps.append(Step("parameters", f"{self.op} pooling has no weights", "0", _WHY_PARAMS))
        return steps


@layer_dataclass
class _MaxPoolNd(_PoolNd):
    op: ClassVar[str] = "max"
    dilation: tuple[int, ...] = fld(Ints(), 1, "spacing between window taps")

    @property
    def _dilation(self) -> tuple[int, ...]:
        return tuple(self.dilation)

    def border_fill(self) -> str:
        return "-inf"


@layer_dataclass
class _AvgPoolNd(_PoolNd):
    op: ClassVar[str] = "avg"
    count_include_pad: bool = fld(Bool(), True, "count padded zeros in the average")

    def border_fill(self) -> str:
        return "zeros" if self.count_include_pad else "excluded"


@layer_dataclass
class _AvgPoolDiv(_AvgPoolNd):
    divisor_override: Any = fld(OptInt(min=1), None, "divide by this instead of the window size")


_SPATIAL = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
for _nd in (1, 2, 3):
    define(_MaxPoolNd, f"MaxPool{_nd}d", summary=f"max pooling over {_SPATIAL[_nd]}", ndim=_nd)
    define(
        _AvgPoolNd if _nd == 1 else _AvgPoolDiv,
        f"AvgPool{_nd}d",
        summary=f"avg pooling over {_SPATIAL[_nd]}",
        ndim=_nd,
        input_covers_kernel=_nd == 3,  # torch's avg_pool3d refuses an input smaller than its window
    )


# -- adaptive pooling -----------------------------------------------------------------


def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive windows: [floor(i·I/O), ceil((i+1)·I/O)) for each output i."""
    return [(floor(i * size / out), ceil((i + 1) * size / out)) for i in range(out)]


@layer_dataclass
class _AdaptivePoolNd(_Pooling):
    op: ClassVar[str] = "avg"

    output_size: tuple[Any, ...] = fld(
        Ints(allow_none=True), doc="output size per spatial dim; null keeps the input size"
    )

    def _out(self, spatial: Sequence[int]) -> tuple[int, ...]:
        return tuple(s if o is None else o for o, s in zip(self.output_size, spatial))

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, c, *spatial = ins[0]
        return (n, c, *self._out(spatial))

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        n, c, *spatial = ins[0]
        read = 1
        for size, o in zip(spatial, self._out(spatial)):
            read *= sum(e - s for s, e in adaptive_windows(size, o))
        positions = prod(self._out(spatial))
        per_channel = read - positions if self.op == "max" else read
        return {"pool": n * c * per_channel}

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        spatial = ins[0][2:]
        outs = self._out(spatial)
        if all(o == 1 for o in outs):
            return RFMap.GLOBAL
        ks, ss = [], []
        for size, o in zip(spatial, outs):
            if size % o:
                return RFMap.GLOBAL if o == 1 else RFMap.UNSUPPORTED
            ks.append(size // o)
            ss.append(size // o)
        return RFMap.window(tuple(ks), tuple(ss), (0,) * len(spatial))

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        spatial = ins[0][2:]
        outs = self._out(spatial)
        steps = [
            Step(
                f"output {dim_name(len(spatial), i)}",
                f"fixed by output_size; windows [floor(i·{size}/{o}), ceil((i+1)·{size}/{o}))",
                str(o),
                WHY_WINDOW_OUT,
            )
            for i, (size, o) in enumerate(zip(spatial, outs))
        ]
        steps.append(Step("parameters", f"adaptive {self.op} pooling has no weights", "0", _WHY_PARAMS))
        return steps


for _nd in (1, 2, 3):
    for _op in ("Avg", "Max"):
        define(
            _AdaptivePoolNd,
            f"Adaptive{_op}Pool{_nd}d",
            summary=f"adaptive {_op.lower()} pooling to a fixed {_nd}-d output size",
            ndim=_nd,
            op=_op.lower(),
        )
