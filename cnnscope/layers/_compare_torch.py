"""torch modules for the compare, logical, where, binary and select layer types (imported
lazily, by ``to_torch``).

Each keeps its layer's fields as attributes of the same names, so the module frontend reads a
built graph back whole. Masks and indices come out at the dtype of the data, as every built
module keeps the graph's one dtype (0.0 / 1.0 for a mask, the index as a number); an input
mask is true where it is non-zero. Under autograd a mask or an index passes the gradient of
what it was computed from straight through (its values stay torch's): it depends on those
positions, and gradient measurements (the receptive-field oracle, the ERF) see that.
"""

from __future__ import annotations

import torch
from torch import nn


def floating(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t`` (a mask or an index tensor) at the floating dtype of ``like`` (float32 if none)."""
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    return t.to(dtype)


def as_mask(t: torch.Tensor) -> torch.Tensor:
    return t if t.dtype == torch.bool else t != 0


def through(out: torch.Tensor, *srcs: torch.Tensor) -> torch.Tensor:
    """``out`` (a mask, an index) with the gradient of ``srcs`` passed straight through: the same
    values (``s − s.detach()`` is 0), and a gradient where it has none of its own."""
    if not torch.is_grad_enabled():
        return out
    for s in srcs:
        if s.requires_grad and s.is_floating_point():
            out = out + (s - s.detach())
    return out


def operands(layer: str, given: tuple[torch.Tensor, ...], want: int) -> None:
    if len(given) != want:
        raise TypeError(f"{layer} takes {want} tensor input(s) here, got {len(given)}")


class Compare(nn.Module):
    def __init__(self, op: str, value: float | None) -> None:
        super().__init__()
        self.op, self.value = op, value

    def forward(self, x: torch.Tensor, *other: torch.Tensor) -> torch.Tensor:
        operands("compare", other, self.value is None)
        y = other[0] if other else self.value
        return through(floating(getattr(torch, self.op)(x, y), x), x, *other)

    def extra_repr(self) -> str:
        return f"op={self.op}, value={self.value}"


class Logical(nn.Module):
    def __init__(self, op: str) -> None:
        super().__init__()
        self.op = op

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        operands(f"logical {self.op}", xs, 1 if self.op == "not" else 2)
        masks = [as_mask(x) for x in xs]
        return through(floating(getattr(torch, f"logical_{self.op}")(*masks), xs[0]), *xs)

    def extra_repr(self) -> str:
        return f"op={self.op}"


class Where(nn.Module):
    def __init__(self, x: float | None, y: float | None) -> None:
        super().__init__()
        self.x, self.y = x, y

    def forward(self, cond: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        operands("where", rest, (self.x is None) + (self.y is None))
        it = iter(rest)
        a = next(it) if self.x is None else self.x
        b = next(it) if self.y is None else self.y
        out = torch.where(as_mask(cond), a, b)
        return through(out if out.is_floating_point() else floating(out, cond), cond)

    def extra_repr(self) -> str:
        return f"x={self.x}, y={self.y}"


class Binary(nn.Module):
    def __init__(self, op: str, value: float | None) -> None:
        super().__init__()
        self.op, self.value = op, value

    def forward(self, x: torch.Tensor, *other: torch.Tensor) -> torch.Tensor:
        operands(f"binary {self.op}", other, self.value is None)
        y = other[0] if other else self.value
        if self.op in ("floordiv", "truncdiv"):  # no gradient of its own: the operands' passed through
            return through(torch.div(x, y, rounding_mode=self.op[:-3]), x, *other)  # type: ignore[arg-type]
        if self.op in ("maximum", "minimum") and not other:
            return torch.clamp(x, min=y) if self.op == "maximum" else torch.clamp(x, max=y)
        return getattr(torch, self.op)(x, y)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        return f"op={self.op}, value={self.value}"


class TopK(nn.Module):
    def __init__(self, k: int, dim: int, largest: bool, output: str) -> None:
        super().__init__()
        self.k, self.dim, self.largest, self.output = k, dim, largest, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values, indices = torch.topk(x, self.k, dim=self.dim, largest=self.largest)
        return values if self.output == "values" else through(floating(indices, x), values)

    def extra_repr(self) -> str:
        return f"k={self.k}, dim={self.dim}, largest={self.largest}, output={self.output}"


class Sort(nn.Module):
    def __init__(self, dim: int, descending: bool, output: str) -> None:
        super().__init__()
        self.dim, self.descending, self.output = dim, descending, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values, indices = torch.sort(x, dim=self.dim, descending=self.descending)
        return values if self.output == "values" else through(floating(indices, x), values)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, descending={self.descending}, output={self.output}"


class MinMax(nn.Module):
    def __init__(self, op: str, dim: int | None, keepdim: bool, output: str) -> None:
        super().__init__()
        self.op, self.dim, self.keepdim, self.output = op, dim, keepdim, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dim is None:  # over every element: the index into the flattened tensor
            if self.output == "values":
                raise ValueError("the max over every element is torch.amax; minmax with dim null gives indices")
            return floating(getattr(torch, f"arg{self.op}")(x, keepdim=self.keepdim), x)
        values, indices = getattr(torch, self.op)(x, self.dim, keepdim=self.keepdim)
        out: torch.Tensor = values if self.output == "values" else through(floating(indices, x), values)
        return out

    def extra_repr(self) -> str:
        return f"op={self.op}, dim={self.dim}, keepdim={self.keepdim}, output={self.output}"
