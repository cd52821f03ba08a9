"""torch modules for the layer types torch.nn has no class for (imported lazily); the views'
are in ``_view_torch.py``."""

from __future__ import annotations

import operator
from functools import reduce

import torch
from torch import nn


class Add(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return reduce(operator.add, xs)


class Mul(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return reduce(operator.mul, xs)


class Concat(nn.Module):
    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LocalResponseNorm(nn.LocalResponseNorm):
    """torch's LRN reshapes with ``view``, which fails on a non-contiguous input (after a
    permute); the layer is defined for any layout, so the input is made contiguous first."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.contiguous())


class Sub(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a - b


class Div(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a / b


class Stack(nn.Module):
    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.stack(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


# -- elementwise with a number, reductions -------------------------------------------------


class Scalar(nn.Module):
    """``x <op> value`` (``rsub``: value − x, ``rdiv``: value / x)."""

    def __init__(self, op: str, value: float) -> None:
        super().__init__()
        self.op, self.value = op, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v, op = self.value, self.op
        if op == "add":
            return x + v
        if op == "sub":
            return x - v
        if op == "rsub":
            return v - x
        if op == "mul":
            return x * v
        if op == "div":
            return x / v
        if op == "rdiv":
            return v / x
        if op == "pow":
            return x**v
        raise ValueError(f"unknown op {op!r}")

    def extra_repr(self) -> str:
        return f"op={self.op}, value={self.value}"


class Reduce(nn.Module):
    """``torch.<op>(x, dim=dims, keepdim=keepdim)`` for mean, sum, amax, amin."""

    def __init__(self, op: str, dims: tuple[int, ...], keepdim: bool) -> None:
        super().__init__()
        self.op, self.dims, self.keepdim = op, tuple(dims), keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = getattr(torch, self.op)(x, dim=self.dims, keepdim=self.keepdim)
        return out

    def extra_repr(self) -> str:
        return f"op={self.op}, dims={list(self.dims)}, keepdim={self.keepdim}"


# -- matmul, einsum, attention (cnnscope/layers/matmul.py, attention.py) -----------------------


class MatMul(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


class Einsum(nn.Module):
    def __init__(self, equation: str) -> None:
        super().__init__()
        self.equation = equation

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.einsum(self.equation, *xs)

    def extra_repr(self) -> str:
        return f"equation={self.equation!r}"


class ScaledDotProductAttention(nn.Module):
    """``F.scaled_dot_product_attention(q, k, v[, attn_mask])``; dropout only while training."""

    def __init__(self, is_causal: bool = False, scale: float | None = None, dropout_p: float = 0.0) -> None:
        super().__init__()
        self.is_causal, self.scale, self.dropout_p = is_causal, scale, dropout_p

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return nn.functional.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout_p if self.training else 0.0,
            is_causal=self.is_causal,
            scale=self.scale,
        )

    def extra_repr(self) -> str:
        return f"is_causal={self.is_causal}, scale={self.scale}, dropout_p={self.dropout_p}"


class MultiheadAttentionOutput(nn.Module):
    """``nn.MultiheadAttention`` returning its attention output only (one input: q = k = v);
    called with ``need_weights=False``, as torch's transformer layers call it."""

    def __init__(self, mha: nn.MultiheadAttention) -> None:
        super().__init__()
        self.mha = mha

    def forward(self, q: torch.Tensor, k: torch.Tensor | None = None, v: torch.Tensor | None = None) -> torch.Tensor:
        if k is None and v is None:
            k = v = q
        elif k is None or v is None:
            raise TypeError("multiheadattention takes 1 input (self-attention) or 3 (q, k, v)")
        out: torch.Tensor = self.mha(q, k, v, need_weights=False)[0]
        return out


# -- parameter (cnnscope/layers/parameter.py) --------------------------------------------------


class Parameter(nn.Module):
    """A learned tensor (class token, position embedding): returned as it is, or expanded
    along its first dim to the batch of the reference input when ``batched``."""

    def __init__(self, shape: tuple[int, ...], batched: bool = False) -> None:
        super().__init__()
        self.shape = tuple(shape)
        self.batched = batched
        self.weight = nn.Parameter(torch.randn(self.shape) * 0.02)

    def forward(self, ref: torch.Tensor) -> torch.Tensor:
        if self.batched:
            # a copy, not the expanded view: FlopCounterMode's module tracker cannot hook a module
            # output that is a view of a parameter made under no_grad (it raises)
            return self.weight.expand(ref.shape[0], *self.shape[1:]).clone()
        return self.weight

    def extra_repr(self) -> str:
        return f"shape={list(self.shape)}, batched={self.batched}"


class ExtraInput(nn.Module):
    """Another input of the model, made up when a spec is built to run: a random tensor of
    ``shape`` at the batch of the reference input."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, ref: torch.Tensor) -> torch.Tensor:
        return torch.randn(ref.shape[0], *self.shape, dtype=ref.dtype, device=ref.device)


class Unary(nn.Module):
    """``torch.<op>(x)``."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(torch, self.op)(x)  # type: ignore[no-any-return]


class Clamp(nn.Module):
    def __init__(self, lo: float | None, hi: float | None) -> None:
        super().__init__()
        self.lo, self.hi = lo, hi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, self.lo, self.hi)


class Constant(nn.Module):
    """A tensor computed from no input (a mask, an index table): zeros of its shape."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, ref: torch.Tensor) -> torch.Tensor:
        return torch.zeros(self.shape, dtype=ref.dtype, device=ref.device)


class Normalize(nn.Module):
    def __init__(self, p: float, dim: int, eps: float) -> None:
        super().__init__()
        self.p, self.dim, self.eps = p, dim, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, self.p, self.dim, self.eps)
