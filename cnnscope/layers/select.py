"""Selecting by value: ``topk``, ``sort`` (and ``argsort``), ``minmax`` (``torch.max(x, dim)``,
``argmax``).

torch gives each of these two outputs, the values and their indices; a layer is one of them
(``output: values`` or ``indices``), so a call is one node per output, each a first-class
node that an ``index`` can read. Shapes are analytic: ``k`` replaces the size of ``dim``, a sort
keeps the shape, a reduction drops (or keeps as 1) its dim.

Op rule (docs/conventions.md, category ``select``): ``topk`` compares every input element
with the running k-th, ``numel(input)``; ``sort`` counts a merge sort's comparisons,
``numel(input) · ⌈log₂ m⌉`` for rows of length ``m``; ``minmax`` compares as ``reduce``'s amax,
``numel(input) − numel(output)``. No MACs (``FlopCounterMode`` counts none), no parameters.
Receptive field: pointwise when the selected dim is the batch or the channels, else not a
sliding window (values move along a spatial dim by their order).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, log2, prod
from typing import ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import norm_dim
from cnnscope.layers.base import INT64, Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, Choice, Int, OptInt, fld

_OUTPUT = ("values", "indices")


def _rank(ins: Sequence[Shape], what: str) -> int:
    rank = len(ins[0])
    if rank == 0:
        raise ShapeError("shape-mismatch", f"{what} needs an input with at least one dim, got a 0-d one")
    return rank


@layer_dataclass
class _Select(Layer):
    family: ClassVar[str] = "select"
    out_shape_checks: ClassVar[bool] = True
    dim: int = fld(Int(), -1, "the dim selected along (0 is the batch; negative: from the end)")
    output: str = fld(Choice(_OUTPUT), "values", "which of torch's two outputs: the values or their indices")

    def _dim(self, ins: Sequence[Shape]) -> int:
        return norm_dim(self.dim, _rank(ins, self.type_name))

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.POINTWISE if self._dim(ins) < 2 else RFMap.UNSUPPORTED

    def out_dtype(self, ins: Sequence[str]) -> str:
        return INT64 if self.output == "indices" else super().out_dtype(ins)

    def _compares(self, ins: Sequence[Shape]) -> int:
        return prod(ins[0])  # each input value against the running k-th (topk)

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        n = self._compares(ins)
        return {"select": n} if n else {}

    def _steps(self, what: str, how: str, ins: Sequence[Shape], out: Shape) -> list[Step]:
        return [
            Step("output shape", f"{what} ({self.output})", _fmt(out)),
            Step("ops", how, f"{self._compares(ins):,}"),
        ]


@register
@layer_dataclass
class TopK(_Select):
    torch_name: ClassVar[str] = "TopK"
    torch_home: ClassVar[str] = "_compare_torch"
    summary: ClassVar[str] = "the k largest (or smallest) values along dim, or their indices (torch.topk)"

    k: int = fld(Int(min=0), doc="how many values are kept")
    largest: bool = fld(Bool(), True, "false: the k smallest")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        d = self._dim(ins)
        size = ins[0][d]
        if self.k > size:
            raise ShapeError(
                "shape-mismatch", f"topk keeps k = {self.k} of dim {d}, which has only {size} (input {list(ins[0])})"
            )
        return (*ins[0][:d], self.k, *ins[0][d + 1 :])

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d = self._dim(ins)
        which = "largest" if self.largest else "smallest"
        what = f"the {self.k} {which} of {ins[0][d]} along dim {d}"
        return self._steps(what, f"each of {_fmt(ins[0])} compared with the running k-th", ins, out)


@register
@layer_dataclass
class Sort(_Select):
    torch_name: ClassVar[str] = "Sort"
    torch_home: ClassVar[str] = "_compare_torch"
    summary: ClassVar[str] = "values sorted along dim, or the permutation that sorts them (torch.sort, argsort)"

    descending: bool = fld(Bool(), False, "largest first")

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        self._dim(ins)
        return ins[0]

    def _compares(self, ins: Sequence[Shape]) -> int:
        m = ins[0][self._dim(ins)]
        return prod(ins[0]) * ceil(log2(m)) if m > 1 else 0

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        d = self._dim(ins)
        m = ins[0][d]
        order = "descending" if self.descending else "ascending"
        return self._steps(
            f"dim {d} ({m} values) sorted {order}", f"{_fmt(ins[0])} values · ⌈log₂ {m}⌉ comparisons", ins, out
        )


@register
@layer_dataclass
class MinMax(Layer):
    torch_name: ClassVar[str] = "MinMax"
    torch_home: ClassVar[str] = "_compare_torch"
    family: ClassVar[str] = "select"
    summary: ClassVar[str] = "the max (or min) along dim, or its index: torch.max(x, dim), argmax, argmin"

    op: str = fld(Choice(("max", "min")), doc="max or min")
    dim: int | None = fld(OptInt(), None, "the dim reduced (null: every element, indices into the flattened input)")
    keepdim: bool = fld(Bool(), False, "keep the reduced dim with size 1")
    output: str = fld(Choice(_OUTPUT), "values", "the values or their indices (dim null: indices only)")

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        if self.dim is None and self.output == "values":
            raise ShapeError(
                "shape-mismatch",
                "minmax over every element (dim: null) gives the index only; the value is reduce's amax / amin",
            )
        self.out_shape(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        src = ins[0]
        if self.dim is None:
            return tuple(1 for _ in src) if self.keepdim else ()
        d = norm_dim(self.dim, _rank(ins, "minmax"))
        if src[d] == 0:
            raise ShapeError("shape-mismatch", f"{self.op} of an empty dim {d} (input {list(src)})")
        return (*src[:d], 1, *src[d + 1 :]) if self.keepdim else (*src[:d], *src[d + 1 :])

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        n = prod(ins[0]) - prod(out)
        return {"select": n} if n else {}

    def out_dtype(self, ins: Sequence[str]) -> str:
        return INT64 if self.output == "indices" else super().out_dtype(ins)

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        rank = len(ins[0])
        if self.dim is None:
            return RFMap.GLOBAL
        d = norm_dim(self.dim, rank)
        if d >= 2:
            return RFMap.UNSUPPORTED
        return RFMap.POINTWISE if self.keepdim or rank <= 2 else RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        where = "every element" if self.dim is None else f"dim {norm_dim(self.dim, len(ins[0]))}"
        return [
            Step("output shape", f"the {self.op} over {where} ({self.output})", _fmt(out)),
            Step(
                "ops", "one comparison per input value, but the first of each output", f"{prod(ins[0]) - prod(out):,}"
            ),
        ]
