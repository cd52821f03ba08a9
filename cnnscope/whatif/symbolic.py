"""Integers symbolic in the input size: polynomials over the size variables and floor atoms.

A :class:`Sym` stands for an integer-valued function of the input's spatial sizes (``H``,
``W``, ...). It is a polynomial with integer coefficients whose "atoms" are the variables
and floors ``⌊P / s⌋`` of other such polynomials. Passing ``Sym`` sizes through a layer's own
``out_shape`` / ``macs`` / ``params`` arithmetic (``(n + 2p − k) // s + 1``, ``prod(out) · C``)
yields that figure exactly as a function of the input size: derived from the code the
analyzers run, never fitted.

Floors are normalized as they are made: multiples of the divisor are pulled out
(``⌊(2H + 1)/2⌋ = H + ⌊1/2⌋ = H``), constants are reduced modulo it, and a floor of a floor
collapses: ``⌊(⌊Q/m⌋ + R)/s⌋ = ⌊(Q + m·R)/(m·s)⌋`` for integer ``Q`` and ``R`` — so a chain of
strided layers gives one ``⌊(H + c)/(s1·s2·…)⌋`` per stage.

Each ``Sym`` also carries its value at the point the trace runs at, so comparisons (a layer
checking that its output is at least 1) answer; every comparison whose answer could depend on
the size is recorded as a *guard*. The traced formula holds wherever every guard answers as it
did at the trace point (:meth:`Space.guards_hold`).
"""

from __future__ import annotations

from typing import Any

from cnnscope.whatif.atoms import _OPS, Guard, Mono, NotSymbolic, Space, Terms, _add, _eval, _mul

__all__ = ["Mono", "NotSymbolic", "Space", "Sym", "Terms", "variables"]


def _terms(x: Any, space: Space) -> Terms | None:
    if isinstance(x, Sym):
        return x.terms
    if isinstance(x, bool):
        return {(): int(x)} if x else {}
    if isinstance(x, int):
        return {(): x} if x else {}
    if isinstance(x, float) and x.is_integer():
        return {(): int(x)} if x else {}
    return None


def variables(space: Space) -> list[Sym]:
    """One symbolic size per spatial dim of ``space``."""
    return [Sym(space, {((i, 1),): 1}) for i in range(len(space.names))]


class Sym:
    """An integer-valued polynomial in the input sizes (see the module docstring)."""

    __slots__ = ("space", "terms", "value")

    def __init__(self, space: Space, terms: Terms) -> None:
        self.space = space
        self.terms = terms
        self.value = _eval(terms, space.values)

    # -- structure --------------------------------------------------------------------
    def constant(self) -> int | None:
        if all(m == () for m in self.terms):
            return self.terms.get((), 0)
        return None

    def _wrap(self, t: Terms) -> Sym | int:
        s = Sym(self.space, t)
        c = s.constant()
        return c if c is not None else s

    def _other(self, x: Any) -> Terms:
        t = _terms(x, self.space)
        if t is None:
            raise NotSymbolic(f"arithmetic with {type(x).__name__} {x!r}")
        return t

    # -- arithmetic -------------------------------------------------------------------
    def __add__(self, x: Any) -> Sym | int:
        return self._wrap(_add(self.terms, self._other(x)))

    __radd__ = __add__

    def __sub__(self, x: Any) -> Sym | int:
        return self._wrap(_add(self.terms, self._other(x), -1))

    def __rsub__(self, x: Any) -> Sym | int:
        return self._wrap(_add(self._other(x), self.terms, -1))

    def __mul__(self, x: Any) -> Sym | int:
        return self._wrap(_mul(self.terms, self._other(x)))

    __rmul__ = __mul__

    def __neg__(self) -> Sym | int:
        return self._wrap({m: -c for m, c in self.terms.items()})

    def __pos__(self) -> Sym:
        return self

    def __pow__(self, p: int) -> Sym | int:
        if not isinstance(p, int) or p < 0:
            raise NotSymbolic(f"power {p!r}")
        out: Sym | int = 1
        for _ in range(p):
            out = self * out
        return out

    def __floordiv__(self, x: Any) -> Sym | int:
        t = self._other(x)
        if any(m != () for m in t):
            raise NotSymbolic("division by a size-dependent number")
        return self._wrap(self.space.floordiv(self.terms, t.get((), 0)))

    def __rfloordiv__(self, x: Any) -> Sym | int:
        raise NotSymbolic("division by a size-dependent number")

    def __mod__(self, x: Any) -> Sym | int:
        q = _terms(self // x, self.space) or {}
        return self._wrap(_add(self.terms, _mul(self._other(x), q), -1))

    def __truediv__(self, x: Any) -> Frac:
        t = self._other(x)
        if any(m != () for m in t) or not t.get((), 0):
            raise NotSymbolic("division by a size-dependent number")
        return Frac(self, t[()])

    def __rtruediv__(self, x: Any) -> Any:
        raise NotSymbolic("division by a size-dependent number")

    # -- comparisons: answered at the trace point, recorded as guards -------------------
    def _cmp(self, x: Any, op: str) -> bool:
        t = _terms(x, self.space)
        if t is None:
            raise NotSymbolic(f"comparison with {type(x).__name__}")
        diff = _add(self.terms, t, -1)
        outcome = _OPS[op](_eval(diff, self.space.values), 0)
        if any(m != () for m in diff):
            self.space.guards.append(Guard(diff, op, outcome))
        return outcome

    def __lt__(self, x: Any) -> bool:
        return self._cmp(x, "<")

    def __le__(self, x: Any) -> bool:
        return self._cmp(x, "<=")

    def __gt__(self, x: Any) -> bool:
        return self._cmp(x, ">")

    def __ge__(self, x: Any) -> bool:
        return self._cmp(x, ">=")

    def __eq__(self, x: object) -> bool:
        return self._cmp(x, "==")

    def __ne__(self, x: object) -> bool:
        return self._cmp(x, "!=")

    def __bool__(self) -> bool:
        return self._cmp(0, "!=")

    def __abs__(self) -> Sym | int:
        return self if self._cmp(0, ">=") else -self

    def __hash__(self) -> int:
        # the value at the trace point, as __eq__ compares: a set of sizes behaves as it would
        # with the concrete numbers, and an equality it relies on is recorded as a guard
        return hash(self.value)

    def __index__(self) -> int:
        raise NotSymbolic("a size used as a concrete integer (index, range, int())")

    __int__ = __index__

    def __float__(self) -> float:
        raise NotSymbolic("a size used as a float")

    def __format__(self, spec: str) -> str:
        return str(self)

    def __repr__(self) -> str:
        from cnnscope.whatif.formula import show_terms

        return show_terms(self.space, self.terms)


class Frac:
    """``sym / d``: only its floor and ceiling (PyTorch's adaptive windows) are symbolic."""

    def __init__(self, num: Sym, den: int) -> None:
        self.num, self.den = num, den

    def __floor__(self) -> Sym | int:
        return self.num // self.den

    def __ceil__(self) -> Sym | int:
        return -((-self.num) // self.den)

    def __getattr__(self, name: str) -> Any:
        raise NotSymbolic(f"a fraction of a size ({name})")
