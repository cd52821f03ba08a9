"""torch modules for the layer types captured from functional calls that torch.nn has no
class for: padding in every mode, clamps with tensor bounds, addcmul / addcdiv, vector norms,
grid sampling, ``Tensor.unfold``, ``repeat_interleave`` and convolutions whose weight is an
input. Imported lazily (by ``to_torch``); each module keeps its layer's fields as attributes of
the same names, so that the module frontend reads a built graph back whole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ModePad(nn.Module):
    """``F.pad(x, pad, mode, value)``: constant, reflect, replicate or circular."""

    def __init__(self, pad: tuple[int, ...], value: float, mode: str) -> None:
        super().__init__()
        self.pad, self.value, self.mode = tuple(pad), value, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "constant":
            return F.pad(x, self.pad, value=self.value)
        return F.pad(x, self.pad, mode=self.mode)

    def extra_repr(self) -> str:
        return f"pad={list(self.pad)}, mode={self.mode}, value={self.value}"


class ClampInputs(nn.Module):
    """``torch.clamp(x, min, max)`` where the bounds named by ``from_inputs`` are further inputs
    (tensors broadcast against ``x``) and the others the numbers ``min`` / ``max``."""

    def __init__(self, min: float | None, max: float | None, from_inputs: str) -> None:
        super().__init__()
        self.min, self.max, self.from_inputs = min, max, from_inputs

    def forward(self, x: torch.Tensor, *bounds: torch.Tensor) -> torch.Tensor:
        rest = list(bounds)
        lo = rest.pop(0) if self.from_inputs in ("min", "both") else self.min
        hi = rest.pop(0) if self.from_inputs in ("max", "both") else self.max
        # torch.clamp takes two numbers or two tensors: a number beside a tensor bound becomes a 0-d tensor
        lo, hi = (torch.tensor(v, dtype=x.dtype, device=x.device) if isinstance(v, float) else v for v in (lo, hi))
        return torch.clamp(x, lo, hi)


class AddCMul(nn.Module):
    """``torch.addcmul(x, a, b, value=v)``: x + v·a·b."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(x, a, b, value=self.value)


class AddCDiv(AddCMul):
    """``torch.addcdiv(x, a, b, value=v)``: x + v·a/b."""

    def forward(self, x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.addcdiv(x, a, b, value=self.value)


class VectorNorm(nn.Module):
    """``torch.linalg.vector_norm(x, ord, dim=dims, keepdim=keepdim)``."""

    def __init__(self, ord: float, dims: tuple[int, ...] | None, keepdim: bool) -> None:
        super().__init__()
        self.ord, self.dims, self.keepdim = ord, None if dims is None else tuple(dims), keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = torch.linalg.vector_norm(x, self.ord, dim=self.dims, keepdim=self.keepdim)
        return out


class GridSample(nn.Module):
    """``F.grid_sample(x, grid, mode, padding_mode, align_corners)``."""

    def __init__(self, mode: str, padding_mode: str, align_corners: bool) -> None:
        super().__init__()
        self.mode, self.padding_mode, self.align_corners = mode, padding_mode, align_corners

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        if grid.shape[0] == 1 and x.shape[0] != 1:  # one fixed grid for every sample
            grid = grid.expand(x.shape[0], *grid.shape[1:])
        return F.grid_sample(x, grid, self.mode, self.padding_mode, self.align_corners)


class UnfoldDim(nn.Module):
    """``x.unfold(dim, size, step)``: the windows of one dim as a new last dim."""

    def __init__(self, dim: int, size: int, step: int) -> None:
        super().__init__()
        self.dim, self.size, self.step = dim, size, step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unfold(self.dim, self.size, self.step)


class RepeatInterleave(nn.Module):
    """``x.repeat_interleave(repeats, dim)``: each element ``repeats`` times in a row (per
    element when ``repeats`` is a list); with no ``dim``, of the flattened input."""

    def __init__(self, repeats: tuple[int, ...], dim: int | None) -> None:
        super().__init__()
        self.repeats, self.dim = tuple(repeats), dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reps: int | torch.Tensor = self.repeats[0] if len(self.repeats) == 1 else torch.tensor(self.repeats)
        return x.repeat_interleave(reps, dim=self.dim)


class DynamicConv(nn.Module):
    """``F.conv{n}d(x, w, b)`` / ``F.conv_transpose{n}d``, the weight (and maybe the bias) given
    as inputs; ``bias`` (when true) is a learned bias of the module's own, per output channel.
    Not read back as a leaf: capture follows its ``F.conv*`` call, whose rule gives the layer."""

    def __init__(
        self,
        nd: int,
        transposed: bool,
        stride: tuple[int, ...],
        padding: tuple[int, ...] | str,
        dilation: tuple[int, ...],
        groups: int,
        out_channels: int | None,
        output_padding: tuple[int, ...] = (),
    ) -> None:
        super().__init__()
        self.nd, self.transposed = nd, transposed
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.output_padding = output_padding
        self.bias = nn.Parameter(torch.zeros(out_channels)) if out_channels is not None else None

    def forward(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        if b is not None and self.bias is not None:
            raise TypeError("a bias of its own and a bias input: give one of them")
        bias = self.bias if b is None else b
        if self.transposed:
            assert not isinstance(self.padding, str)  # a transposed convolution takes no `same`
            convt = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.nd - 1]
            out: torch.Tensor = convt(
                x, w, bias, self.stride, self.padding, self.output_padding, self.groups, self.dilation
            )
            return out
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.nd - 1]
        result: torch.Tensor = conv(x, w, bias, self.stride, self.padding, self.dilation, self.groups)
        return result
