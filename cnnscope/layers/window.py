"""How a layer maps positions: its receptive-field map, its sliding window, and the one
window-fit rule.

Every layer answers :meth:`Layer.rf` with an :class:`RFMap`: a :class:`RFKind` and, for a
``window`` map, the effective kernel, stride and low padding per spatial dim. A layer that
slides a window also answers :meth:`Layer.window` with a :class:`Window` (kernel, stride,
dilation and the (low, high) padding per spatial dim). :func:`axis_fits` is the window-fit
fact, computed here only: the shape analyzer's warning, ``cnnscope fit``, ``explain`` and
lint's ``window-fit`` rule all read it. Torch-free.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from cnnscope.records import Record, record

_DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def dim_name(ndim: int, i: int) -> str:
    """``H`` for dim 0 of a 2-d map; ``d0``, ``d1``... past three dims."""
    names = _DIM_NAMES.get(ndim)
    return names[i] if names is not None else f"d{i}"


class RFKind(enum.Enum):
    """What one layer does to positions, for receptive-field arithmetic."""

    WINDOW = "window"  # a sliding window (or a crop, a pad): kernel, stride and padding per dim
    POINTWISE = "pointwise"  # each output position sees the same input position only
    GLOBAL = "global"  # each output sees the whole input (global pooling, flatten, linear)
    UNSUPPORTED = "unsupported"  # upsampling: positions are not an integer-stride map
    CONSTANT = "constant"  # depends on no input position (a learned parameter, a class token)


@record
class RFMap(Record):
    """One layer's receptive-field map. For ``RFKind.WINDOW``, per spatial dim: ``kernel`` is
    the effective kernel ``dilation·(k − 1) + 1``, ``padding`` the padding on the low
    (left/top) side; for the other kinds the tuples are empty."""

    kind: RFKind
    kernel: tuple[int, ...] = ()
    stride: tuple[int, ...] = ()
    padding: tuple[int, ...] = ()

    POINTWISE: ClassVar[RFMap]
    GLOBAL: ClassVar[RFMap]
    UNSUPPORTED: ClassVar[RFMap]
    CONSTANT: ClassVar[RFMap]

    def __init__(
        self, kind: RFKind, kernel: tuple[int, ...] = (), stride: tuple[int, ...] = (), padding: tuple[int, ...] = ()
    ) -> None:
        put = object.__setattr__  # written out: every layer's rf() makes one
        put(self, "kind", kind)
        put(self, "kernel", kernel)
        put(self, "stride", stride)
        put(self, "padding", padding)

    @staticmethod
    def window(kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int]) -> RFMap:
        return RFMap(RFKind.WINDOW, tuple(kernel), tuple(stride), tuple(padding))

    @staticmethod
    def identity(ndim: int) -> RFMap:
        return RFMap.window((1,) * ndim, (1,) * ndim, (0,) * ndim)

    @property
    def windowed(self) -> bool:
        return self.kind is RFKind.WINDOW


RFMap.POINTWISE = RFMap(RFKind.POINTWISE)
RFMap.GLOBAL = RFMap(RFKind.GLOBAL)
RFMap.UNSUPPORTED = RFMap(RFKind.UNSUPPORTED)
RFMap.CONSTANT = RFMap(RFKind.CONSTANT)


@record
class Window(Record):
    """A sliding window, per spatial dim (first spatial dim first)."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]  # (low, high)

    def __init__(
        self,
        kernel: tuple[int, ...],
        stride: tuple[int, ...],
        dilation: tuple[int, ...],
        pads: tuple[tuple[int, int], ...],
    ) -> None:
        put = object.__setattr__  # written out: every windowed layer's window() makes one
        put(self, "kernel", kernel)
        put(self, "stride", stride)
        put(self, "dilation", dilation)
        put(self, "pads", pads)

    @property
    def effective(self) -> tuple[int, ...]:
        """``dilation·(k − 1) + 1``: the span of input one window covers."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation, strict=True))

    @property
    def strided(self) -> bool:
        return any(s > 1 for s in self.stride)

    def rf(self) -> RFMap:
        return RFMap.window(self.effective, self.stride, tuple(lo for lo, _ in self.pads))

    @staticmethod
    def of(step: RFMap) -> Window | None:
        """The window of a layer that states only its map (a crop, a pad, space-to-depth):
        kernel and dilation as the map says, its low padding on both sides."""
        if not step.windowed:
            return None
        ones = (1,) * len(step.kernel)
        return Window(step.kernel, step.stride, ones, tuple((p, p) for p in step.padding))


@dataclass(frozen=True)
class AxisFit:
    """Does one window tile one spatial dim of its input? ``(I + P_lo + P_hi − K) mod S``
    positions are left over; those of them that are real input (not padding) are never seen.
    A ``ceil_mode`` pool keeps a last, partial window instead (``partial``)."""

    dim: str  # H, W, L, ...
    size: int  # input size along the dim
    kernel: int  # effective kernel
    stride: int
    pad_lo: int
    pad_hi: int
    out: int  # the layer's output size along the dim

    @property
    def span(self) -> int:
        """``I + P_lo + P_hi − K``: how far the window can slide."""
        return self.size + self.pad_lo + self.pad_hi - self.kernel

    @property
    def remainder(self) -> int:
        """``span mod S``: 0 when the last window ends exactly at the padded end."""
        return self.span % self.stride if self.span >= 0 else 0

    @property
    def lost(self) -> int:
        """Real input pixels (not padding) that no window covers."""
        if self.kernel < self.stride:  # a strided 1×1 skips pixels between windows by design
            return 0
        # the last window starts at (out − 1)·S − P_lo and covers K positions
        return max(0, self.size + self.pad_lo - (self.out - 1) * self.stride - self.kernel)

    @property
    def partial(self) -> bool:
        """A ceil-mode last window that hangs over the end of the input."""
        return self.span >= 0 and self.out > self.span // self.stride + 1

    @property
    def fits(self) -> bool:
        return self.lost == 0 and not self.partial

    def describe(self) -> str:
        """``H: (7 − 3) mod 3 = 1; the last 1 pixel of 7 never seen``."""
        pad = f" + {self.pad_lo} + {self.pad_hi}" if self.pad_lo or self.pad_hi else ""
        head = f"{self.dim}: ({self.size}{pad} − {self.kernel}) mod {self.stride} = {self.remainder}"
        if self.lost:
            return f"{head}; the last {self.lost} pixel{'s' if self.lost > 1 else ''} of {self.size} never seen"
        if self.partial:
            return f"{head}; ceil_mode keeps a partial last window over {self.remainder} of {self.kernel} positions"
        return f"{head}; fits"


def axis_fits(window: Window | None, in_spatial: Sequence[int], out_spatial: Sequence[int]) -> list[AxisFit]:
    """The window-fit fact of each spatial dim; empty without a window or when the spatial
    rank changes."""
    if window is None:
        return []
    nd = len(window.kernel)
    if len(in_spatial) != nd or len(out_spatial) != nd:
        return []
    keff = window.effective
    return [
        AxisFit(dim_name(nd, i), in_spatial[i], keff[i], window.stride[i], lo, hi, out_spatial[i])
        for i, (lo, hi) in enumerate(window.pads)
    ]


def drops_input(fits: Sequence[AxisFit]) -> str:
    """``drops input: H: ...; W: ...`` for the dims that lose pixels; empty when none does."""
    parts = [f.describe() for f in fits if f.lost]
    return "drops input: " + "; ".join(parts) if parts else ""


def window_warnings(window: Window | None, in_shape: Sequence[int], out_shape: Sequence[int]) -> list[str]:
    """A windowed layer's `window-fit` warning (shapes include batch and channels): the dims
    where the last window stops short of the input's end, in :func:`drops_input`'s words."""
    text = drops_input(axis_fits(window, in_shape[2:], out_shape[2:]))
    return [f"the window {text}"] if text else []
