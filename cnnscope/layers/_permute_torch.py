"""The torch module behind cnnscope/layers/permute.py (imported lazily: loads torch)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Permute(nn.Module):
    """``x.permute(dims)``; the batch (dim 0) stays first."""

    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = tuple(int(d) for d in dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)

    def extra_repr(self) -> str:
        return f"dims={list(self.dims)}"
