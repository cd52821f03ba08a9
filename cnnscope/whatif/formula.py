"""Cost as an exact formula in the input size, traced through the layers' own arithmetic.

:func:`trace` runs shape inference, the per-layer MACs / other ops / params and the memory
analyzer on an input whose spatial sizes are :class:`~cnnscope.whatif.symbolic.Sym` values.
What comes out is each figure as a polynomial in the size variables and floor atoms — one
``⌊(H + c)/S⌋`` per stride stage for a plain CNN — valid wherever the recorded guards hold.

:func:`expand` turns that into an ordinary polynomial ``a·H·W + b·H + c·W + d`` with exact
rational coefficients, valid on one residue class of the sizes modulo the period (the product
of the strides): the floors are what make the cost piecewise, and the class is where each
floor is a linear function. :mod:`cnnscope.whatif.formula_text` writes them out (its names
are importable from here too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import lcm
from typing import Any

from cnnscope.analyze.base import Context, Report
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.graph import Graph
from cnnscope.layers.window import dim_name
from cnnscope.whatif.formula_text import atom_names, legend, num, show_poly, show_terms, used_atoms
from cnnscope.whatif.symbolic import Space, Sym, Terms, variables

FIGURES = ("params", "macs", "flops", "other_ops_total", "activation_bytes", "training_bytes")


@dataclasses.dataclass
class Trace:
    """The figures of one trace, as terms over ``space`` (constants are ``{(): c}``)."""

    space: Space
    figures: dict[str, Terms]
    output_dims: list[Terms]

    def evaluate(self, sizes: Sequence[int]) -> dict[str, int] | None:
        """Every figure at ``sizes``, or None where a guard answers otherwise (another piece)."""
        vals = self.space.atom_values(sizes)
        if not self.space.guards_hold(sizes, vals):
            return None
        return {k: self.space.evaluate(t, sizes, vals) for k, t in self.figures.items()}


def _terms(x: Any) -> Terms:
    if isinstance(x, Sym):
        return dict(x.terms)
    return {(): int(x)} if x else {}


def dims_of(graph: Graph) -> list[str]:
    nd = len(graph.input_shape) - 1
    return [dim_name(nd, i) for i in range(nd)]


def trace(graph: Graph, sizes: Sequence[int], batch: int = 1, **options: Any) -> Trace:
    """Trace the figures at ``sizes`` (one per spatial dim); raises ShapeError where invalid
    and :class:`~cnnscope.whatif.symbolic.NotSymbolic` where a layer needs concrete numbers."""
    from cnnscope.analyze import memory

    space = Space(dims_of(graph), list(sizes))
    symbolic: tuple[Any, ...] = (graph.input_shape[0], *variables(space))
    g = dataclasses.replace(graph, input_shape=symbolic)
    shapes = infer_shapes(g, batch)
    macs: Any = 0
    other: dict[str, Any] = {}
    params: Any = 0
    for node in g.nodes:
        ins = [shapes[i] for i in node.inputs]
        out = shapes[node.name]
        macs = macs + node.layer.macs(ins, out)
        for k, v in node.layer.other_ops(ins, out).items():
            other[k] = other.get(k, 0) + v
        if node.shares is None:
            params = params + node.layer.params(ins).total
    ctx = Context(g, batch, dict(options), shapes)
    rows = [{"name": n.name, "type": n.type, "inputs": list(n.inputs)} for n in g.nodes]
    report = Report(g.name, g.source, shapes["input"], batch, rows)
    memory.run(ctx, report)
    figures = {
        "params": _terms(params),
        "macs": _terms(macs),
        "flops": _terms(2 * macs),
        "other_ops_total": _terms(sum(other.values())),
        "activation_bytes": _terms(report.totals["activation_bytes"]),
        "training_bytes": _terms(report.totals["training_bytes"]),
    }
    for k, v in other.items():
        figures[f"other_ops.{k}"] = _terms(v)
    return Trace(space, figures, [_terms(d) for d in shapes[g.output][2:]])


# -- residue classes: each floor is linear on one class --------------------------------


@dataclasses.dataclass(frozen=True)
class Linear:
    """An atom on one residue class: ``const + Σ slope_v·x_v``, for ``x_v ≡ ref_v (mod period_v)``."""

    const: Fraction
    slopes: tuple[Fraction, ...]
    periods: tuple[int, ...]


def linear_atoms(space: Space, ref: Sequence[int]) -> list[Linear] | None:
    """Each atom as a linear function on the residue class of ``ref``; None when a floor
    holds a product of sizes (no residue class makes it linear)."""
    nv = len(space.names)
    vals = space.atom_values(ref)
    out: list[Linear] = []
    for k, a in enumerate(space.atoms):
        if a.is_var:
            out.append(Linear(Fraction(0), tuple(Fraction(int(i == k)) for i in range(nv)), (1,) * nv))
            continue
        slopes = [Fraction(0)] * nv
        periods = [1] * nv
        for mono, c in a.num:
            if not mono:
                continue
            if len(mono) != 1 or mono[0][1] != 1:
                return None
            inner = out[mono[0][0]]
            for v in range(nv):
                slopes[v] += c * inner.slopes[v]
                periods[v] = lcm(periods[v], inner.periods[v])
        slopes = [s / a.den for s in slopes]
        periods = [lcm(p, s.denominator) for p, s in zip(periods, slopes, strict=True)]
        const = vals[k] - sum((s * r for s, r in zip(slopes, ref, strict=True)), Fraction(0))
        out.append(Linear(const, tuple(slopes), tuple(periods)))
    return out


Poly = dict[tuple[int, ...], Fraction]  # exponent per variable -> coefficient


def expand(space: Space, terms: Terms, lin: Sequence[Linear]) -> Poly:
    """``terms`` as a polynomial in the variables, on the residue class ``lin`` was made for."""
    nv = len(space.names)
    unit = (0,) * nv
    total: Poly = {}
    for mono, c in terms.items():
        acc: Poly = {unit: Fraction(c)}
        for atom, power in mono:
            lf = lin[atom]
            factor: Poly = {unit: lf.const} if lf.const else {}
            for v, s in enumerate(lf.slopes):
                if s:
                    e = tuple(int(i == v) for i in range(nv))
                    factor[e] = factor.get(e, Fraction(0)) + s
            for _ in range(power):
                acc = _pmul(acc, factor)
        for e, fv in acc.items():
            total[e] = total.get(e, Fraction(0)) + fv
    return {e: fv for e, fv in total.items() if fv}


def _pmul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ea, ca in a.items():
        for eb, cb in b.items():
            e = tuple(x + y for x, y in zip(ea, eb, strict=True))
            out[e] = out.get(e, Fraction(0)) + ca * cb
    return out


def eval_poly(poly: Mapping[tuple[int, ...], Fraction], sizes: Sequence[int]) -> Fraction:
    total = Fraction(0)
    for e, c in poly.items():
        v = c
        for x, p in zip(sizes, e, strict=True):
            v *= x**p
        total += v
    return total


def period(lin: Sequence[Linear], nv: int) -> tuple[int, ...]:
    return tuple(lcm(*(a.periods[v] for a in lin)) for v in range(nv))


def steps(space: Space, atom: int, lo: int, hi: int, ref: Sequence[int]) -> list[int]:
    """The sizes in (lo, hi] of the atom's variable where the floor's value changes."""
    a = space.atoms[atom]
    dep = sorted(used_atoms(space, dict(a.num)) & set(range(len(space.names))))
    if len(dep) != 1:
        return []
    v = dep[0]
    out = []
    prev = None
    for x in range(lo, hi + 1):
        sizes = list(ref)
        sizes[v] = x
        val = space.atom_values(sizes)[atom]
        if prev is not None and val != prev:
            out.append(x)
        prev = val
    return out


__all__ = [
    "FIGURES",
    "Linear",
    "Poly",
    "Trace",
    "atom_names",
    "dims_of",
    "eval_poly",
    "expand",
    "legend",
    "linear_atoms",
    "num",
    "period",
    "show_poly",
    "show_terms",
    "steps",
    "trace",
    "used_atoms",
]
