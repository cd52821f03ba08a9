"""torch modules for the views (cnnscope/layers/view.py), which torch.nn has no class for
(imported lazily).

Each module keeps its layer's fields as attributes of the same names, so that the module
frontend reads a built graph back whole.
"""

from __future__ import annotations

import torch
from torch import nn


class Reshape(nn.Module):
    """``x.reshape(shape)`` with ONNX's 0 (copy the input's size at that index) resolved."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(self.shape)])

    def extra_repr(self) -> str:
        return f"shape={list(self.shape)}"


class Expand(nn.Module):
    def __init__(self, sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.sizes = tuple(sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.expand(*self.sizes)

    def extra_repr(self) -> str:
        return f"sizes={list(self.sizes)}"


class Slice(nn.Module):
    """``x[..., start:stop:step]`` along ``dim``, or ``x.select(dim, start)`` with ``squeeze``."""

    def __init__(self, dim: int, start: int, stop: int | None, step: int, squeeze: bool) -> None:
        super().__init__()
        self.dim, self.start, self.stop, self.step, self.squeeze = dim, start, stop, step, squeeze

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.squeeze:
            return x.select(self.dim, self.start)
        d = self.dim + x.dim() if self.dim < 0 else self.dim
        if not 0 <= d < x.dim():
            raise IndexError(f"dim {self.dim} out of range for a {x.dim()}-d tensor")
        return x[(slice(None),) * d + (slice(self.start, self.stop, self.step),)]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, start={self.start}, stop={self.stop}, step={self.step}, squeeze={self.squeeze}"


class Roll(nn.Module):
    def __init__(self, shifts: tuple[int, ...], dims: tuple[int, ...]) -> None:
        super().__init__()
        self.shifts, self.dims = tuple(shifts), tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.roll(x, self.shifts, self.dims)

    def extra_repr(self) -> str:
        return f"shifts={list(self.shifts)}, dims={list(self.dims)}"
