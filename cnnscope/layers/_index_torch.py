"""torch modules for the index, masked, indexput, sliceput, nonzero and unique layer types
(imported lazily, by ``to_torch``).

A built graph runs on any input: an index tensor is read as integers modulo its dim's size, a
mask as non-zero, and a data-dependent size (``length``) is kept by cutting the real result or
padding it with zeros, so every node gives the shape the graph says. Indices and masks come out
at the data's dtype (see ``_compare_torch``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnscope.layers._compare_torch import as_mask, floating


def as_index(t: torch.Tensor, size: int) -> torch.Tensor:
    """An index tensor as integers in ``0..size - 1`` (what a negative index means, too)."""
    idx = t.long()
    return idx % size if size > 0 else idx


def fit(t: torch.Tensor, length: int, dim: int = 0) -> torch.Tensor:
    """``t`` cut or zero-padded to ``length`` along ``dim``: the size capture measured."""
    n = t.shape[dim]
    if n >= length:
        return t.narrow(dim, 0, length)
    pad = list(t.shape)
    pad[dim] = length - n
    return torch.cat([t, t.new_zeros(pad)], dim)


class Index(nn.Module):
    def __init__(self, dim: int, indices: tuple[int, ...] | None) -> None:
        super().__init__()
        self.dim, self.indices = dim, indices

    def forward(self, x: torch.Tensor, *idx: torch.Tensor) -> torch.Tensor:
        d = self.dim + x.dim() if self.dim < 0 else self.dim
        if not 0 <= d < x.dim():
            raise IndexError(f"dim {self.dim} is out of range for a {x.dim()}-d tensor")
        if (self.indices is not None) == bool(idx):
            raise TypeError("index takes index tensors or literal indices, one of the two")
        if self.indices is not None:
            tensors = [torch.tensor(self.indices, dtype=torch.long, device=x.device)]
        else:
            tensors = [as_index(t, x.shape[d + j]) for j, t in enumerate(idx)]
        return x[(slice(None),) * d + tuple(tensors)]

    def extra_repr(self) -> str:
        return f"dim={self.dim}, indices={self.indices}"


class Masked(nn.Module):
    def __init__(self, dim: int, length: int) -> None:
        super().__init__()
        self.dim, self.length = dim, length

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.length > mask.numel():
            raise ValueError(f"a mask of {mask.numel()} elements selects at most that many, not {self.length}")
        picked = x[(slice(None),) * self.dim + (as_mask(mask),)]
        return fit(picked, self.length, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, length={self.length}"


class IndexPut(nn.Module):
    def __init__(self, dim: int, mask: bool, length: int | None, value: float | None, accumulate: bool) -> None:
        super().__init__()
        self.dim, self.mask, self.length, self.value, self.accumulate = dim, mask, length, value, accumulate

    def forward(self, x: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        if (self.accumulate and (self.dim or self.mask)) or (self.length is not None and not self.mask):
            raise ValueError("accumulate takes index tensors from dim 0; length is a mask's count")
        items = list(rest)
        v: Any = self.value if self.value is not None else items.pop()
        out = x.clone()
        d = self.dim
        if self.mask:
            m = as_mask(items[0])
            index: tuple[Any, ...] = (slice(None),) * d + (m,)
            if isinstance(v, torch.Tensor) and v.dim():
                target = out[index].shape
                pos = v.dim() - (len(target) - d)  # v's dim at the masked one, aligned from the right
                if pos >= 0 and v.shape[pos] not in (1, target[d]):
                    v = fit(v, target[d], pos)  # the count measured at capture, fitted to this mask's
            out[index] = v
            return out
        tensors = [as_index(t, x.shape[d + j]) for j, t in enumerate(items)]
        if self.accumulate:
            return out.index_put_(tuple(tensors), torch.as_tensor(v, dtype=out.dtype), accumulate=True)
        out[(slice(None),) * d + tuple(tensors)] = v
        return out

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, mask={self.mask}, length={self.length}, value={self.value}, accumulate={self.accumulate}"
        )


class SlicePut(nn.Module):
    def __init__(self, index: str, value: float | None) -> None:
        super().__init__()
        from cnnscope.layers._index_expr import parse_index

        self.index, self.value = index, value
        self._items = parse_index(index)

    def forward(self, x: torch.Tensor, *v: torch.Tensor) -> torch.Tensor:
        if bool(v) == (self.value is not None):
            raise TypeError("sliceput writes a value input or a number, one of the two")
        out = x.clone()
        out[self._items] = v[0] if v else float(self.value or 0.0)
        return out

    def extra_repr(self) -> str:
        return f"index={self.index}, value={self.value}"


class Nonzero(nn.Module):
    def __init__(self, length: int, column: int | None) -> None:
        super().__init__()
        self.length, self.column = length, column

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.length > x.numel():
            raise ValueError(f"{x.numel()} elements hold at most that many non-zero ones, not {self.length}")
        idx = fit(torch.nonzero(as_mask(x)), self.length, 0)
        if self.column is not None:
            idx = idx[:, self.column]
        return floating(idx, x)

    def extra_repr(self) -> str:
        return f"length={self.length}, column={self.column}"


class Unique(nn.Module):
    def __init__(self, length: int, output: str, sorted: bool) -> None:
        super().__init__()
        self.length, self.output, self.sorted = length, output, sorted

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.length > max(1, x.numel()):
            raise ValueError(f"{x.numel()} elements hold at most that many distinct values, not {self.length}")
        values, inverse, counts = torch.unique(x, sorted=self.sorted, return_inverse=True, return_counts=True)
        if self.output == "inverse":
            return floating(inverse, x)
        out = values if self.output == "values" else counts
        return fit(out if out.is_floating_point() else floating(out, x), self.length, 0)

    def extra_repr(self) -> str:
        return f"length={self.length}, output={self.output}, sorted={self.sorted}"
