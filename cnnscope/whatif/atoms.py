"""The atoms of the symbolic sizes: the variables and normalized floors, interned in a Space.

See :mod:`cnnscope.whatif.symbolic` for what they are for. A term is a monomial over atom ids
with an integer coefficient; ``Terms`` maps monomials to coefficients (``()`` is the constant).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Mono = tuple[tuple[int, int], ...]  # ((atom id, power), ...), sorted by atom id; () is the constant
Terms = dict[Mono, int]


class NotSymbolic(Exception):
    """A layer needed a concrete number (``int(size)``, ``range(size)``, a float scale)."""


@dataclass(frozen=True)
class Atom:
    """A variable (``den == 0``, ``name`` set) or ``⌊num / den⌋``."""

    name: str
    num: tuple[tuple[Mono, int], ...] = ()
    den: int = 0

    @property
    def is_var(self) -> bool:
        return self.den == 0


def _mul_mono(a: Mono, b: Mono) -> Mono:
    if not a:
        return b
    if not b:
        return a
    d = dict(a)
    for k, p in b:
        d[k] = d.get(k, 0) + p
    return tuple(sorted(d.items()))


def _add(a: Terms, b: Terms, sign: int = 1) -> Terms:
    out = dict(a)
    for m, c in b.items():
        v = out.get(m, 0) + sign * c
        if v:
            out[m] = v
        else:
            out.pop(m, None)
    return out


def _mul(a: Terms, b: Terms) -> Terms:
    out: Terms = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            m = _mul_mono(ma, mb)
            v = out.get(m, 0) + ca * cb
            if v:
                out[m] = v
            else:
                out.pop(m, None)
    return out


def _key(t: Terms) -> tuple[tuple[Mono, int], ...]:
    return tuple(sorted(t.items()))


@dataclass
class Guard:
    """A comparison `diff OP 0` that one branch of the traced computation took, and its outcome."""

    diff: Terms  # the comparison is `diff OP 0`
    op: str
    outcome: bool


_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass
class Space:
    """The atoms of one trace, interned (an atom's id is larger than those it is made of)."""

    names: Sequence[str]
    point: Sequence[int]  # the sizes the trace runs at
    atoms: list[Atom] = field(default_factory=list)
    values: list[int] = field(default_factory=list)  # each atom's value at ``point``
    guards: list[Guard] = field(default_factory=list)
    _index: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for n, v in zip(self.names, self.point, strict=True):
            self._index[("var", n)] = len(self.atoms)
            self.atoms.append(Atom(n))
            self.values.append(v)

    # -- evaluation -------------------------------------------------------------------
    def atom_values(self, sizes: Sequence[int]) -> list[int]:
        vals: list[int] = []
        for a in self.atoms:
            if a.is_var:
                vals.append(sizes[len(vals)])
            else:
                vals.append(_eval(dict(a.num), vals) // a.den)
        return vals

    def evaluate(self, terms: Terms, sizes: Sequence[int], vals: list[int] | None = None) -> int:
        return _eval(terms, vals if vals is not None else self.atom_values(sizes))

    def guards_hold(self, sizes: Sequence[int], vals: list[int] | None = None) -> bool:
        vals = vals if vals is not None else self.atom_values(sizes)
        return all(_OPS[g.op](_eval(g.diff, vals), 0) == g.outcome for g in self.guards)

    # -- floors -----------------------------------------------------------------------
    def floordiv(self, terms: Terms, s: int) -> Terms:
        if s < 0:
            return self.floordiv({m: -c for m, c in terms.items()}, -s)
        if s == 0:
            raise ZeroDivisionError("integer division by zero")
        if s == 1:
            return dict(terms)
        pulled: Terms = {}
        rest: Terms = {}
        for m, c in terms.items():
            q, r = divmod(c, s)
            if m == ():
                if q:
                    pulled[()] = q
                if r:
                    rest[()] = r
            elif r == 0:
                pulled[m] = q
            else:
                rest[m] = c
        if all(m == () for m in rest):
            return pulled  # the remaining constant is in [0, s): its floor is 0
        unit = [
            m for m, c in rest.items() if c == 1 and len(m) == 1 and m[0][1] == 1 and not self.atoms[m[0][0]].is_var
        ]
        for m in unit:
            a = m[0][0]
            others = {k: v for k, v in rest.items() if k != m}
            if any(a == i for k in others for i, _ in k):
                continue
            inner = self.atoms[a]
            # ⌊(⌊Q/m⌋ + R)/s⌋ = ⌊(Q + m·R)/(m·s)⌋ for integer Q, R
            scaled = {k: v * inner.den for k, v in others.items()}
            return _add(pulled, self.floordiv(_add(dict(inner.num), scaled), inner.den * s))
        return _add(pulled, {((self._atom(rest, s), 1),): 1})

    def _atom(self, num: Terms, den: int) -> int:
        key = ("floor", _key(num), den)
        got = self._index.get(key)
        if got is not None:
            return got
        self._index[key] = len(self.atoms)
        self.atoms.append(Atom("", _key(num), den))
        self.values.append(_eval(num, self.values) // den)
        return len(self.atoms) - 1


def _eval(terms: Mapping[Mono, int], vals: Sequence[int]) -> int:
    total = 0
    for m, c in terms.items():
        v = c
        for i, p in m:
            v *= vals[i] ** p if p != 1 else vals[i]
        total += v
    return total
