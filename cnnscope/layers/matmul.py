"""Products of tensors: matmul (torch.matmul) and einsum (torch.einsum, one or two operands).

MACs are those of the matrix products torch runs, as ``FlopCounterMode`` / 2 counts them:

- ``matmul``: ``prod(broadcast batch dims) · n · k · m`` for ``(…, n, k) @ (…, k, m)``; a 1-d
  operand is a row (left) or a column (right) vector, ``n = 1`` or ``m = 1``;
- ``einsum`` of two operands: torch first sums out the indices found in one operand only and
  not in the output, and drops size-1 dims; if an index is then left in both operands and not in
  the output, it runs one batched matmul over all remaining indices: the MACs are the product
  of their sizes. Without such a contracted index it is an elementwise or outer product (0
  MACs, as ``mul`` counts no MACs). One operand (a sum, a diagonal, a transpose): 0.
  More than two operands is refused (torch picks a contraction order; cnnscope does not guess).

Neither is a sliding window: receptive fields are reported as not applicable.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import broadcast_shapes, check_count, shapes_text
from cnnscope.layers.base import Layer, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import FieldError, Str, fld


def matmul_dims(a: Shape, b: Shape) -> tuple[Shape, int, int, int, Shape]:
    """``(batch, n, k, m, out)`` of ``torch.matmul(a, b)``, or a ShapeError."""
    if not a or not b:
        raise ShapeError("shape-mismatch", f"matmul needs inputs of at least 1 dim, got {shapes_text([a, b])}")
    aa = (1, *a) if len(a) == 1 else tuple(a)
    bb = (*b, 1) if len(b) == 1 else tuple(b)
    n, k = aa[-2:]
    k2, m = bb[-2:]
    if k != k2:
        raise ShapeError(
            "shape-mismatch",
            f"matmul of {list(a)} and {list(b)}: the first's last dim ({k}) must equal the second's "
            f"{'only' if len(b) == 1 else 'second-to-last'} dim ({k2})",
        )
    batch = broadcast_shapes([aa[:-2], bb[:-2]], "matmul batches") if len(aa) > 2 or len(bb) > 2 else ()
    out = (*batch, *(() if len(a) == 1 else (n,)), *(() if len(b) == 1 else (m,)))
    return batch, n, k, m, out


@register
@layer_dataclass
class MatMul(Layer):
    torch_name: ClassVar[str] = "MatMul"  # cnnscope's own module
    family: ClassVar[str] = "matmul"
    summary: ClassVar[str] = "torch.matmul(a, b): matrix product, batch dims broadcast, 1-d operands as vectors"
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = 2

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        check_count(self, ins)
        matmul_dims(ins[0], ins[1])

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return matmul_dims(ins[0], ins[1])[4]

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        batch, n, k, m, _ = matmul_dims(ins[0], ins[1])
        return prod(batch) * n * k * m

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        from cnnscope.layers import _torch_ops

        return _torch_ops.MatMul()

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        batch, n, k, m, _ = matmul_dims(ins[0], ins[1])
        b = f"{prod(batch):,} × " if batch else ""
        return [
            Step("output shape", f"{_fmt(ins[0])} @ {_fmt(ins[1])}", _fmt(out)),
            Step("MACs", f"{b}{n}·{k}·{m}", f"{self.macs(ins, out):,}"),
        ]


# -- einsum -----------------------------------------------------------------------------------

ELLIPSIS = "..."


def _parse_term(term: str, where: str) -> list[str]:
    """A subscript term as a list of labels, ``...`` as one item."""
    out: list[str] = []
    i = 0
    while i < len(term):
        if term.startswith(ELLIPSIS, i):
            if ELLIPSIS in out:
                raise FieldError(f"{where} `{term}` has more than one `...`", "equation")
            out.append(ELLIPSIS)
            i += 3
            continue
        c = term[i]
        if not (c.isascii() and c.isalpha()):
            raise FieldError(
                f"{where} `{term}`: `{c}` is not a subscript (letters a-z, A-Z and one `...` only)", "equation"
            )
        out.append(c)
        i += 1
    return out


def parse_equation(equation: str) -> tuple[list[list[str]], list[str] | None]:
    """The input terms and the output term (None: implicit), or a FieldError."""
    eq = "".join(equation.split())
    if eq.count("->") > 1:
        raise FieldError(f"`{equation}` has more than one `->`", "equation")
    lhs, arrow, rhs = eq.partition("->")
    terms = [_parse_term(t, f"operand {i}") for i, t in enumerate(lhs.split(","))]
    if len(terms) > 2:
        raise FieldError(
            "einsum with more than two operands is not supported",
            "equation",
            hint="write it as a chain of two-operand einsums (torch's contraction order is its own choice)",
        )
    if not arrow:
        return terms, None
    out = _parse_term(rhs, "the output")
    seen = set()
    for c in out:
        if c in seen:
            raise FieldError(f"output subscript `{c}` appears more than once in `{equation}`", "equation")
        seen.add(c)
        if c != ELLIPSIS and not any(c in t for t in terms):
            raise FieldError(f"output subscript `{c}` appears in no operand of `{equation}`", "equation")
    return terms, out


@register
@layer_dataclass
class Einsum(Layer):
    torch_name: ClassVar[str] = "Einsum"
    torch_home: ClassVar[str] = "_torch_ops"
    family: ClassVar[str] = "matmul"
    summary: ClassVar[str] = "torch.einsum(equation, a[, b]): one or two operands, `...` for broadcast dims"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 2

    equation: str = fld(
        Str(), doc="torch's subscripts, e.g. `bhqd,bhkd->bhqk`; `->` optional (then: the letters seen once, sorted)"
    )

    def validate(self) -> None:
        parse_equation(self.equation)

    def _analyze(self, ins: Sequence[Shape]) -> tuple[Shape, int]:
        """The output shape and the MACs, or a ShapeError."""
        check_count(self, ins)
        try:
            terms, out_term = parse_equation(self.equation)
        except FieldError as exc:
            raise ShapeError("bad-value", str(exc)) from None
        if len(terms) != len(ins):
            raise ShapeError(
                "wrong-arity", f"`{self.equation}` has {len(terms)} operand(s), but the layer has {len(ins)} input(s)"
            )
        sizes: dict[str, int] = {}
        present: list[dict[str, int]] = []  # per operand: label -> its size there (after the diagonal)
        ell_shapes: list[Shape] = []
        for i, (term, shape) in enumerate(zip(terms, ins, strict=True)):
            labels = [c for c in term if c != ELLIPSIS]
            has_ell = ELLIPSIS in term
            if len(labels) > len(shape) or (not has_ell and len(labels) != len(shape)):
                raise ShapeError(
                    "shape-mismatch",
                    f"operand {i} has subscripts `{''.join(term)}` for a {len(shape)}-d input {list(shape)}",
                )
            e_at = term.index(ELLIPSIS) if has_ell else len(term)
            n_ell = len(shape) - len(labels)
            ell_shapes.append(tuple(shape[e_at : e_at + n_ell]))
            own: dict[str, int] = {}
            for j, c in enumerate(labels):
                d = shape[j if j < e_at else j + n_ell]
                if c in own and own[c] != d:
                    raise ShapeError(
                        "shape-mismatch",
                        f"subscript `{c}` is repeated in operand {i} over dims of different sizes ({own[c]}, {d})",
                    )
                own[c] = d
            for c, d in own.items():
                if c in sizes and d != sizes[c] and 1 not in (d, sizes[c]):
                    raise ShapeError(
                        "shape-mismatch",
                        f"subscript `{c}` has size {d} in operand {i} but {sizes[c]} before: they do not broadcast",
                    )
                sizes[c] = max(sizes.get(c, 1), d)
            present.append(own)
        any_ell = any(ELLIPSIS in t for t in terms)
        ell = broadcast_shapes(ell_shapes, "einsum broadcasts") if any_ell else ()
        if out_term is None:
            counts: dict[str, int] = {}
            for t in terms:
                for c in t:
                    if c != ELLIPSIS:
                        counts[c] = counts.get(c, 0) + 1
            out_term = ([ELLIPSIS] if any_ell else []) + sorted(c for c, n in counts.items() if n == 1)
        out: list[int] = []
        for c in out_term:
            out.extend(ell if c == ELLIPSIS else (sizes[c],))
        return tuple(out), self._macs(terms, out_term, present, ell_shapes, ell, sizes)

    @staticmethod
    def _macs(
        terms: list[list[str]],
        out_term: list[str],
        present: list[dict[str, int]],
        ell_shapes: list[Shape],
        ell: Shape,
        sizes: dict[str, int],
    ) -> int:
        if len(terms) != 2:
            return 0
        # the broadcast dims of `...` act as labels of their own, right-aligned
        full = dict(sizes)
        held: list[set[str]] = []
        for own, es in zip(present, ell_shapes, strict=True):
            h = {c for c, d in own.items() if d > 1}  # size-1 dims are squeezed away first
            for j, d in enumerate(es):
                name = f"...{len(ell) - len(es) + j}"
                if d > 1:
                    h.add(name)
            held.append(h)
        for j, d in enumerate(ell):
            full[f"...{j}"] = d
        kept = {c for c in out_term if c != ELLIPSIS} | (
            {f"...{j}" for j in range(len(ell))} if ELLIPSIS in out_term else set()
        )
        a, b = held
        summed_first = {c for c in a ^ b if c not in kept}  # in one operand only, not in the output
        contracted = (a & b) - kept
        if not contracted:
            return 0  # an elementwise or outer product
        return prod(full[c] for c in (a | b) - summed_first)

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._analyze(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        return self._analyze(ins)[0]

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        return self._analyze(ins)[1]

    def linear_at_inference(self) -> bool:
        return self.equation.count(",") == 0  # one operand: a sum, diagonal or transpose

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.UNSUPPORTED

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        macs = self.macs(ins, out)
        steps = [Step("output shape", f"`{self.equation}` on {shapes_text(ins)}", _fmt(out))]
        if len(ins) == 2:
            how = (
                "product of the sizes of the indices left after summing one-operand ones"
                if macs
                else "no index contracted"
            )
            steps.append(Step("MACs", how, f"{macs:,}"))
        return steps
