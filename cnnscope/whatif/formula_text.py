"""Exact formulas written out: numbers as integers, terminating decimals or p/q, polynomials in
the size variables, and the floor atoms named ``h1, h2, …`` with their legend
(``h1 = ⌊(H + 1)/2⌋``) — what :mod:`cnnscope.whatif.formula` computes, as text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from cnnscope.whatif.symbolic import Mono, Space, Terms


def num(c: Fraction | int) -> str:
    """An exact number: an integer, a terminating decimal, or p/q."""
    c = Fraction(c)
    if c.denominator == 1:
        return f"{c.numerator:,}"
    d = c.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d == 1:
        places = max(twos, fives)
        scaled = abs(c.numerator) * 10**places // c.denominator  # exact: the decimal terminates
        whole, frac = divmod(scaled, 10**places)
        return f"{'-' if c < 0 else ''}{whole:,}.{frac:0{places}d}"
    return f"{c.numerator}/{c.denominator}"


def show_poly(poly: Mapping[tuple[int, ...], Fraction], names: Sequence[str]) -> str:
    order = sorted(poly, key=lambda e: (-sum(e), [-x for x in e]))
    return _join([(poly[e], _mono_name(e, names)) for e in order])


def _mono_name(e: tuple[int, ...], names: Sequence[str]) -> str:
    return "·".join(n if p == 1 else f"{n}^{p}" for n, p in zip(names, e, strict=True) if p)


def _join(parts: list[tuple[Fraction, str]]) -> str:
    if not parts:
        return "0"
    out = []
    for i, (c, name) in enumerate(parts):
        sign = "-" if c < 0 else "+"
        mag = abs(c)
        body = num(mag) if not name else (name if mag == 1 else f"{num(mag)}·{name}")
        out.append((("-" if sign == "-" else "") if i == 0 else f" {sign} ") + body)
    return "".join(out)


def atom_names(space: Space, used: set[int] | None = None) -> list[str]:
    """Variables keep their names; floors are h1, h2, … after the one variable they depend on,
    numbered in the order they arise (only those in ``used``, when given)."""
    names: list[str] = []
    counters: dict[str, int] = {}
    deps: list[set[int]] = []
    for k, a in enumerate(space.atoms):
        if a.is_var:
            names.append(a.name)
            deps.append({k})
            continue
        d: set[int] = set()
        for mono, _ in a.num:
            for i, _p in mono:
                d |= deps[i]
        deps.append(d)
        base = space.atoms[min(d)].name.lower() if len(d) == 1 else "a"
        if used is not None and k not in used:
            names.append(f"_{k}")
            continue
        counters[base] = counters.get(base, 0) + 1
        names.append(f"{base}{counters[base]}")
    return names


def show_terms(space: Space, terms: Terms, names: Sequence[str] | None = None) -> str:
    names = names or atom_names(space, used_atoms(space, terms))

    def mono(m: Mono) -> str:
        return "·".join(names[i] if p == 1 else f"{names[i]}^{p}" for i, p in m)

    order = sorted(terms, key=lambda m: (-sum(p for _, p in m), m))
    return _join([(Fraction(terms[m]), mono(m)) for m in order])


def legend(space: Space, used: set[int] | None = None) -> list[str]:
    """``h1 = ⌊(H + 1)/2⌋`` for every floor atom (or those in ``used``)."""
    names = atom_names(space, used)
    out = []
    for k, a in enumerate(space.atoms):
        if a.is_var or (used is not None and k not in used):
            continue
        inner = show_terms(space, dict(a.num), names)
        if len(a.num) > 1 or a.num[0][1] != 1:
            inner = f"({inner})"
        out.append(f"{names[k]} = ⌊{inner}/{a.den}⌋")
    return out


def used_atoms(space: Space, terms: Terms) -> set[int]:
    """The atoms ``terms`` reads, directly or through other atoms (those a legend names)."""
    seen: set[int] = set()
    todo = [i for m in terms for i, _ in m]
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        todo.extend(j for m, _ in space.atoms[i].num for j, _ in m)
    return seen
