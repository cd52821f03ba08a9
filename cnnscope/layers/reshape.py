"""Shape-only layers: identity, flatten, padding, upsampling, pixel and channel shuffles."""

from __future__ import annotations

from collections.abc import Sequence
from math import floor, prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import Rearranges
from cnnscope.layers.base import RFMap, Shape, Step, Window, _fmt, define, layer_dataclass, register
from cnnscope.layers.fields import Choice, FieldError, FloatOrFloats, Int, IntList, Kind, Pads, fld
from cnnscope.layers.window import dim_name


@register
@layer_dataclass
class Identity(Rearranges):
    torch_name: ClassVar[str] = "Identity"
    summary: ClassVar[str] = "passes its input through (a named no-op, e.g. a shortcut)"

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        return {}


@register
@layer_dataclass
class Flatten(Rearranges):
    torch_name: ClassVar[str] = "Flatten"
    summary: ClassVar[str] = "merges dims start_dim..end_dim into one (default: all but the batch)"

    start_dim: int = fld(Int(), 1, "first dim to merge")
    end_dim: int = fld(Int(), -1, "last dim to merge")

    def _range(self, rank: int) -> tuple[int, int]:
        s = self.start_dim + rank if self.start_dim < 0 else self.start_dim
        e = self.end_dim + rank if self.end_dim < 0 else self.end_dim
        return s, e

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        rank = len(ins[0])
        s, e = self._range(rank)
        if not (0 <= s < rank and 0 <= e < rank) or s > e:
            raise ShapeError(
                "bad-dim",
                f"cannot merge dims {self.start_dim}..{self.end_dim} of a {rank}-d input {list(ins[0])}",
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        s, e = self._range(len(ins[0]))
        shape = ins[0]
        return (*shape[:s], prod(shape[s : e + 1]), *shape[e + 1 :])

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        _s, e = self._range(len(ins[0]))
        return RFMap.GLOBAL if e >= 2 else RFMap.POINTWISE

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        s, e = self._range(len(ins[0]))
        dims = "·".join(str(d) for d in ins[0][s : e + 1])
        why = (
            "the map becomes one long vector: from here on no layer knows which values were neighbours, "
            "which is why the lecture's MLP needs a weight per pixel"
        )
        return [Step("output shape", f"{dims} = {prod(ins[0][s : e + 1]):,} values per sample", _fmt(out), why)]


# -- padding --------------------------------------------------------------------------


@layer_dataclass
class _PadNd(Rearranges):
    min_pad: ClassVar[int] = -(10**9)
    mode: ClassVar[str] = "zeros"

    padding: tuple[int, ...] = fld(
        Pads(), doc="one int for all sides, or (left, right[, top, bottom[, front, back]]) as torch"
    )

    def validate(self) -> None:
        if min(self.padding) < self.min_pad:
            raise FieldError(f"{self.mode} padding cannot be negative, got {min(self.padding)}", field="padding")

    def pads(self) -> list[tuple[int, int]]:
        """(low, high) per spatial dim, first spatial dim first (torch lists the last first)."""
        nd = self.ndim or 1
        p = self.padding
        return [(p[2 * (nd - 1 - i)], p[2 * (nd - 1 - i) + 1]) for i in range(nd)]

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        super().check_inputs(ins)
        spatial = ins[0][2:]
        for i, (size, (lo, hi)) in enumerate(zip(spatial, self.pads())):
            if self.mode == "reflect" and max(lo, hi) >= size:
                raise ShapeError(
                    "shape-mismatch",
                    f"reflection padding {max(lo, hi)} must be smaller than the input size {size} "
                    f"along {dim_name(len(spatial), i)}",
                )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, c, *spatial = ins[0]
        out = []
        for i, (size, (lo, hi)) in enumerate(zip(spatial, self.pads())):
            o = size + lo + hi
            kept = size + min(lo, 0) + min(hi, 0)  # torch crops (negative pads) before it pads
            if kept < 0:
                raise ShapeError(
                    "shape-too-small",
                    f"padding {lo}+{hi} crops {-min(lo, 0) - min(hi, 0)} along {dim_name(len(spatial), i)} "
                    f"from an input of {size}",
                )
            if o < 1:
                raise ShapeError(
                    "shape-too-small",
                    f"padding {lo}+{hi} leaves {o} along {dim_name(len(spatial), i)} of an input of {size}",
                )
            out.append(o)
        return (n, c, *out)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        nd = self.ndim or 1
        return RFMap.window((1,) * nd, (1,) * nd, tuple(lo for lo, _ in self.pads()))

    def window(self, ins: Sequence[Shape]) -> Window | None:
        nd = self.ndim or 1
        return Window((1,) * nd, (1,) * nd, (1,) * nd, tuple(self.pads()))  # a crop (a negative pad) drops pixels

    def border_fill(self) -> str:
        return self.mode

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        return {"padding": tuple(self.padding)}


for _torch_name, _nd, _mode, _min_pad in [
    ("ZeroPad1d", 1, "zeros", -(10**9)),
    ("ZeroPad2d", 2, "zeros", -(10**9)),
    ("ZeroPad3d", 3, "zeros", -(10**9)),
    ("ReflectionPad1d", 1, "reflect", 0),
    ("ReflectionPad2d", 2, "reflect", 0),
    ("ReplicationPad1d", 1, "replicate", 0),
    ("ReplicationPad2d", 2, "replicate", 0),
    ("ReplicationPad3d", 3, "replicate", 0),
]:
    define(
        _PadNd,
        _torch_name,
        summary=f"{_mode} padding of a {_nd}-d input" + (" (negative crops)" if _min_pad < 0 else ""),
        ndim=_nd,
        mode=_mode,
        min_pad=_min_pad,
    )


# -- upsampling -----------------------------------------------------------------------

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")
_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


@register
@layer_dataclass
class Upsample(Rearranges):
    torch_name: ClassVar[str] = "Upsample"
    summary: ClassVar[str] = "resize by scale_factor or to size (nearest, bilinear, ...)"

    size: Any = fld(IntList(), None, "output spatial size (one int for all dims, or one per dim)")
    scale_factor: Any = fld(FloatOrFloats(), None, "multiplier of the spatial size (output = floor(in·s))")
    mode: str = fld(Choice(_MODES), "nearest", "interpolation")
    align_corners: Any = fld(Kind(), None, "true/false for the linear modes; leave unset otherwise")

    def validate(self) -> None:
        if (self.size is None) == (self.scale_factor is None):
            raise FieldError("give exactly one of `size` and `scale_factor`", field="scale_factor")
        if self.align_corners is not None:
            if not isinstance(self.align_corners, bool):
                raise FieldError("expected true, false or null", field="align_corners")
            if self.mode not in _MODE_RANK:
                raise FieldError(
                    f"align_corners only applies to the linear modes, not `{self.mode}`", field="align_corners"
                )

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        rank = len(ins[0])
        nd = rank - 2
        if nd < 1 or nd > 3:
            raise ShapeError("shape-mismatch", f"expects a 3-d to 5-d input, got {list(ins[0])}")
        want = _MODE_RANK.get(self.mode)
        if want is not None and rank != want:
            raise ShapeError(
                "shape-mismatch", f"mode `{self.mode}` needs a {want}-d input, got {rank}-d {list(ins[0])}"
            )
        for name, v in (("size", self.size), ("scale_factor", self.scale_factor)):
            if v is not None and len(v) not in (1, nd):
                raise ShapeError("shape-mismatch", f"`{name}` has {len(v)} entries for an input with {nd} spatial dims")

    def _out(self, spatial: Sequence[int]) -> list[int]:
        nd = len(spatial)
        if self.size is not None:
            return list(self.size) * (nd if len(self.size) == 1 else 1)
        sf = list(self.scale_factor) * (nd if len(self.scale_factor) == 1 else 1)
        return [floor(float(s) * f) for s, f in zip(spatial, sf)]

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, c, *spatial = ins[0]
        out = self._out(spatial)
        if any(o < 1 for o in out):
            raise ShapeError("shape-too-small", f"upsampling {spatial} gives {out}: sizes must stay >= 1")
        return (n, c, *out)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        nd = len(out) - 2
        if self.mode.startswith("nearest"):
            return {}
        taps = 4**nd if self.mode == "bicubic" else 2**nd
        return {"interpolate": prod(out) * (2 * taps - 1)}  # a weighted sum of the taps

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def torch_kwargs(self, ins: Sequence[Shape]) -> dict[str, Any]:
        nd = len(ins[0]) - 2
        kw: dict[str, Any] = {"mode": self.mode}
        if self.size is not None:
            kw["size"] = tuple(self._out(ins[0][2:])) if nd > 1 else self.size[0]
        if self.scale_factor is not None:  # both set: torch refuses, as validate() does
            sf = tuple(self.scale_factor) * (nd if len(self.scale_factor) == 1 else 1)
            kw["scale_factor"] = sf
        if self.align_corners is not None:
            kw["align_corners"] = self.align_corners
        return kw


@register
@layer_dataclass
class PixelShuffle(Rearranges):
    torch_name: ClassVar[str] = "PixelShuffle"
    summary: ClassVar[str] = "(N, C·r², H, W) → (N, C, H·r, W·r), sub-pixel upsampling"

    upscale_factor: int = fld(Int(min=1), doc="r")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        r2 = self.upscale_factor**2
        if len(ins[0]) != 4 or ins[0][1] % r2:
            raise ShapeError(
                "shape-mismatch", f"expects (N, C·{r2}, H, W) with channels divisible by {r2}, got {list(ins[0])}"
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, c, h, w = ins[0]
        r = self.upscale_factor
        return (n, c // (r * r), h * r, w * r)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED


@register
@layer_dataclass
class PixelUnshuffle(Rearranges):
    torch_name: ClassVar[str] = "PixelUnshuffle"
    summary: ClassVar[str] = "(N, C, H·r, W·r) → (N, C·r², H, W), space-to-depth"

    downscale_factor: int = fld(Int(min=1), doc="r")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        r = self.downscale_factor
        if len(ins[0]) != 4 or ins[0][2] % r or ins[0][3] % r:
            raise ShapeError(
                "shape-mismatch", f"expects (N, C, H, W) with H and W divisible by {r}, got {list(ins[0])}"
            )

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        n, c, h, w = ins[0]
        r = self.downscale_factor
        return (n, c * r * r, h // r, w // r)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        r = self.downscale_factor
        return RFMap.window((r, r), (r, r), (0, 0))


@register
@layer_dataclass
class ChannelShuffle(Rearranges):
    torch_name: ClassVar[str] = "ChannelShuffle"
    summary: ClassVar[str] = "interleaves channel groups (ShuffleNet)"

    groups: int = fld(Int(min=1), doc="channel groups; must divide the channels")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if len(ins[0]) < 3 or ins[0][1] % self.groups:
            raise ShapeError(
                "bad-groups", f"has groups={self.groups}, which does not divide the channels of {list(ins[0])}"
            )
