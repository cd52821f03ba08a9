"""Views and copies without arithmetic: reshape, expand, slice, roll.

Shapes always include the batch dim, so every shape-like field here is the *whole* shape or
counts dims from the batch (dim 0), as torch does:

- ``reshape`` — ``shape`` is the full output shape with ONNX Reshape's rules: ``0`` copies the
  input's size at that index, one ``-1`` is inferred from the element count
  (``[0, -1]`` flattens all but the batch);
- ``expand`` — ``sizes`` is the full target shape, ``-1`` keeps the input's size; new leading
  dims are allowed (torch's ``x.expand``);
- ``slice`` — ``x[:, start:stop:step]`` along ``dim`` with Python's clamping of start and stop,
  or ``x[:, start]`` (the dim dropped) with ``squeeze``;
- ``roll`` — ``torch.roll(x, shifts, dims)``.

Receptive fields are carried per spatial dim by position (dims 2..): a layer is pointwise
when every spatial position stays where it was, a crop (slice) is a window map (RFMap.window), and anything that
moves positions to other dims or other places (a reshape of the spatial dims, a roll over
space, broadcasting a 1-sized spatial dim) is reported as not a sliding window.

``to_torch`` builds small modules from ``cnnscope/layers/_view_torch.py``, imported lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import Rearranges, norm_dim
from cnnscope.layers.base import RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Dims, FieldError, Int, OptInt, fld


@register
@layer_dataclass
class Reshape(Rearranges):
    torch_name: ClassVar[str] = "Reshape"
    torch_home: ClassVar[str] = "_view_torch"
    summary: ClassVar[str] = "x.reshape(shape), batch included; 0 copies that input dim, one -1 is inferred"

    shape: tuple[int, ...] = fld(
        Dims(min=-1),
        doc="the full output shape, batch dim included: 0 = the input's size at that index, -1 = inferred (once)",
    )

    def validate(self) -> None:
        if list(self.shape).count(-1) > 1:
            raise FieldError(f"shape {list(self.shape)} has more than one -1: only one dim can be inferred", "shape")

    def _resolve(self, ins: Sequence[Shape]) -> list[int]:
        src = ins[0]
        out = []
        for i, s in enumerate(self.shape):
            if s == 0:
                if i >= len(src):
                    raise ShapeError(
                        "shape-mismatch",
                        f"shape {list(self.shape)} copies dim {i} (a 0), but the input {list(src)} has {len(src)} dims",
                    )
                s = src[i]
            out.append(s)
        return out

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if list(self.shape).count(-1) > 1:  # validate() says so for specs; also for layers made directly
            raise ShapeError("shape-mismatch", f"shape {list(self.shape)} has more than one -1")
        self.out_shape(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        out = self._resolve(ins)
        n = prod(ins[0])
        if -1 in out:
            known = prod(s for s in out if s != -1)
            if n % known:
                raise ShapeError(
                    "shape-mismatch",
                    f"cannot reshape {list(ins[0])} ({n:,} values) to {list(self.shape)}: "
                    f"{n:,} is not divisible by {known:,}",
                )
            out[out.index(-1)] = n // known
        elif prod(out) != n:
            raise ShapeError(
                "shape-mismatch",
                f"cannot reshape {list(ins[0])} ({n:,} values) to {out} ({prod(out):,} values)",
                hint="the batch dim is part of `shape`: use 0 (or -1) for it",
            )
        return tuple(out)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        out = self.out_shape(ins)
        same = len(out) == len(ins[0]) and tuple(out[2:]) == tuple(ins[0][2:])
        return RFMap.POINTWISE if same else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f"{_fmt(ins[0])} ({prod(ins[0]):,} values) as {list(self.shape)}", _fmt(out)),
            Step("cost", "values are moved, not computed", "0 parameters, 0 ops"),
        ]


@register
@layer_dataclass
class Expand(Rearranges):
    torch_name: ClassVar[str] = "Expand"
    torch_home: ClassVar[str] = "_view_torch"
    summary: ClassVar[str] = "x.expand(sizes): broadcasts 1-sized dims (batch included; -1 keeps a size)"
    out_shape_checks: ClassVar[bool] = True

    sizes: tuple[int, ...] = fld(
        Dims(min=-1),
        doc="the full target shape, batch dim included: -1 keeps the input's size; extra leading dims allowed",
    )

    def validate(self) -> None:
        if 0 in self.sizes:
            raise FieldError(f"sizes {list(self.sizes)} hold a 0: sizes must be >= 1 (or -1)", "sizes")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        src = ins[0]
        new = len(self.sizes) - len(src)
        if new < 0:
            raise ShapeError(
                "shape-mismatch",
                f"sizes {list(self.sizes)} have fewer dims than the input {list(src)}",
                hint="give one size per input dim (-1 keeps it), batch included",
            )
        out = []
        for i, s in enumerate(self.sizes):
            if i < new:
                if s < 1:
                    raise ShapeError("shape-mismatch", f"size {s} for a new leading dim {i}: new dims need a size >= 1")
                out.append(s)
                continue
            have = src[i - new]
            if s == -1:
                out.append(have)
            elif s < 1 or (have != 1 and s != have):
                raise ShapeError(
                    "shape-mismatch",
                    f"cannot expand dim {i - new} of size {have} to {s} (input {list(src)}, sizes {list(self.sizes)})",
                    hint="only dims of size 1 can be expanded",
                )
            else:
                out.append(s)
        return tuple(out)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        out = self.out_shape(ins)
        src = ins[0]
        if len(out) != len(src):
            return RFMap.UNSUPPORTED  # new leading dims move the spatial dims
        if all(a == b for a, b in zip(src[2:], out[2:], strict=True)):
            return RFMap.POINTWISE
        # one input position spread over a spatial dim: every output unit along it sees the same
        # input window, which no size/stride/padding describes (as the analyzer says of a
        # broadcast gate); after a global op the field stays the whole input
        return RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f"{_fmt(ins[0])} broadcast to {list(self.sizes)}", _fmt(out)),
            Step("cost", "a view: no values are computed (nor copied)", "0 parameters, 0 ops"),
        ]


@register
@layer_dataclass
class Slice(Rearranges):
    torch_name: ClassVar[str] = "Slice"
    torch_home: ClassVar[str] = "_view_torch"
    summary: ClassVar[str] = "x[:, start:stop:step] along one dim (Python's clamping), or x[:, i] with squeeze"

    dim: int = fld(Int(), 1, "the dim to slice (0 is the batch; negative: from the end)")
    start: int = fld(Int(), 0, "first index (negative: from the end; clamped to the dim, as Python slices)")
    stop: int | None = fld(OptInt(), None, "index after the last (null: to the end; negative: from the end; clamped)")
    step: int = fld(Int(min=1), 1, "take every step-th element")
    squeeze: bool = fld(
        Bool(), False, "true: take the single index `start` and drop the dim (x[:, 0]); stop and step unused"
    )

    def validate(self) -> None:
        if self.squeeze and (self.stop is not None or self.step != 1):
            raise FieldError("with squeeze: true only `start` (the index) applies; drop `stop` and `step`", "squeeze")

    def _range(self, ins: Sequence[Shape]) -> tuple[int, int, int]:
        """The normalized dim, the first index taken and how many are taken."""
        d = norm_dim(self.dim, len(ins[0]))
        size = ins[0][d]
        if self.squeeze:
            if not -size <= self.start < size:
                raise ShapeError(
                    "bad-dim", f"index {self.start} is out of range for dim {d} of size {size} (input {list(ins[0])})"
                )
            return d, self.start % size, 1
        lo, hi, st = slice(self.start, self.stop, self.step).indices(size)
        return d, lo, len(range(lo, hi, st))

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if self.step < 1:
            raise ShapeError("shape-mismatch", f"step must be >= 1, got {self.step}")
        d, _lo, n = self._range(ins)
        if n < 1:
            raise ShapeError(
                "shape-too-small",
                f"slice {self.start}:{self.stop}:{self.step} of dim {d} (size {ins[0][d]}) is empty",
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        d, _lo, n = self._range(ins)
        src = ins[0]
        if self.squeeze:
            return (*src[:d], *src[d + 1 :])
        return (*src[:d], n, *src[d + 1 :])

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        d, lo, _n = self._range(ins)
        if self.squeeze:  # a spatial dim goes, or the spatial dims after it move down by one
            return RFMap.UNSUPPORTED if len(ins[0]) >= 3 else RFMap.POINTWISE
        if d < 2:
            return RFMap.POINTWISE
        nd = len(ins[0]) - 2
        i = d - 2
        kernel, stride, padding = [1] * nd, [1] * nd, [0] * nd
        stride[i], padding[i] = self.step, -lo  # a crop: output unit u is input position lo + u·step
        return RFMap.window(tuple(kernel), tuple(stride), tuple(padding))

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d, lo, n = self._range(ins)
        what = f"index {lo} of dim {d}, dim dropped" if self.squeeze else f"dim {d}: {n} of {ins[0][d]} from {lo}"
        if not self.squeeze and self.step > 1:
            what += f", every {self.step}"
        return [Step("output shape", what, _fmt(out)), Step("cost", "a view: values are not computed", "0 ops")]


@register
@layer_dataclass
class Roll(Rearranges):
    torch_name: ClassVar[str] = "Roll"
    torch_home: ClassVar[str] = "_view_torch"
    summary: ClassVar[str] = "torch.roll(x, shifts, dims): circular shift along dims (Swin's shifted windows)"

    shifts: tuple[int, ...] = fld(Dims(), doc="the shift per dim in `dims` (negative: towards index 0)")
    dims: tuple[int, ...] = fld(Dims(), doc="the dims to roll, one per shift (0 is the batch)")

    def validate(self) -> None:
        if len(self.shifts) != len(self.dims):
            raise FieldError(f"{len(self.shifts)} shifts for {len(self.dims)} dims: give one shift per dim", "shifts")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(self.shifts) != len(self.dims):
            raise ShapeError("shape-mismatch", f"{len(self.shifts)} shifts for {len(self.dims)} dims")
        for d in self.dims:
            norm_dim(d, len(ins[0]))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        rank = len(ins[0])
        rolled = {norm_dim(d, rank) for d, s in zip(self.dims, self.shifts, strict=True)}
        return RFMap.UNSUPPORTED if any(d >= 2 for d in rolled) else RFMap.POINTWISE

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        moves = ", ".join(f"dim {d} by {s}" for d, s in zip(self.dims, self.shifts, strict=True))
        return [Step("output shape", f"{moves} (circular)", _fmt(out)), Step("cost", "values are moved", "0 ops")]
