"""The torch modules behind cnnscope/layers/convnext.py (imported lazily: loads torch)."""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channel dim of (N, C, H, W), at every position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"LayerNorm2d expects a 4-d input, got {tuple(x.shape)}")
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """y = γ ⊙ x with one learned γ per channel (dim 1)."""

    def __init__(self, channels: int, spatial_dims: int, init_value: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, *(1,) * spatial_dims), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class StochasticDepth(nn.Module):
    """Zero the whole input (per sample, or for the batch) with probability p while
    training, scaling what survives by 1 / (1 − p); the identity in eval mode."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0], *(1,) * (x.dim() - 1)) if self.mode == "row" else (1,) * x.dim()
        mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep if keep > 0.0 else x * mask
