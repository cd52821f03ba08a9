"""Number formatting: the only place where units are written out (1.82 GMAC, 3.1 MiB)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cnnscope.analyze.base import get_path as get_path  # re-exported: the formats read rows with it

_SI = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
_BIN = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def count(n: Any) -> str:
    """Exact integer with thousands separators: 11,689,512."""
    if n is None:
        return "–"
    if isinstance(n, float):
        return f"{n:,.2f}"
    return f"{n:,}"


def si(n: Any, unit: str = "", digits: int = 2) -> str:
    """1823525888 -> '1.82 G' + unit; zero is a bare ``0`` (beside a ``–`` that means "does not apply")."""
    if n is None:
        return "–"
    if n == 0:
        return "0"
    for scale, prefix in _SI:
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {prefix}{unit}".rstrip()
    return f"{n:,} {unit}".rstrip() if isinstance(n, int) else f"{n:.{digits}f} {unit}".rstrip()


def nbytes(n: Any) -> str:
    """Binary units: 3211264 -> '3.06 MiB'."""
    if n is None:
        return "–"
    for scale, name in _BIN:
        if abs(n) >= scale:
            return f"{n / scale:.2f} {name}"
    return f"{n:,} B"


def shape(s: Any) -> str:
    if s is None:
        return "–"
    return "×".join(str(d) for d in s)


def dims(s: Any) -> str:
    if s is None:
        return "–"
    if isinstance(s, str):
        return s
    if isinstance(s, (list, tuple)):
        return "×".join(_num(d) for d in s)
    return _num(s)


RF_WORDS = {  # a receptive field with no size, by the rf analyzer's status
    "whole_input": "whole input",
    "unsupported": "n/a (not a sliding window)",
    "constant": "none (a constant)",
}


def rf_shown(field: Any) -> Any:
    """What a receptive field (the rf analyzer's row: ``size`` and ``status``) shows: its sizes,
    or the words for a field with no size (``whole input``); None for no field."""
    if not hasattr(field, "get"):
        return None
    if field.get("status") == "ok":
        return field.get("size")
    return RF_WORDS.get(str(field.get("status")))


def rf(field: Any) -> str:
    """A receptive field as text: ``212×212``, ``whole input``."""
    return dims(rf_shown(field))


def _num(d: Any) -> str:
    if isinstance(d, float) and not d.is_integer():
        return f"{d:.3g}"
    return str(int(d)) if isinstance(d, float) else str(d)


def percent(x: Any) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.1f}%"


def ms(x: Any) -> str:
    if x is None:
        return "–"
    if x < 1:
        return f"{x * 1000:.1f} µs"
    return f"{x:.3f} ms"


def rate(x: Any, unit: str) -> str:
    return si(x, unit + "/s")


FORMATTERS: dict[str, Callable[[Any], str]] = {
    "count": count,
    "count_si": si,  # a count rounded for people: 11.69 M
    "macs": lambda n: si(n, "MAC"),
    "flops": lambda n: si(n, "FLOP"),
    "ops": lambda n: si(n, "op"),
    "bytes": nbytes,
    "shape": shape,
    "dims": dims,
    "rf": rf,
    "percent": percent,
    "ms": ms,
    "flops_rate": lambda x: si(x, "FLOP/s"),
    "bytes_rate": lambda x: si(x, "B/s"),
    "per_s": lambda x: "–" if x is None else f"{x:,.1f}/s",
    "float": lambda x: "–" if x is None else f"{x:.3g}",
    # arithmetic intensity, FLOP per byte: one fixed number of decimals down a column
    "intensity": lambda x: "–" if x is None else f"{x:,.2f}",
    "text": lambda x: "" if x is None else (", ".join(map(str, x)) if isinstance(x, (list, tuple)) else str(x)),
}


def fmt(value: Any, unit: str) -> str:
    return FORMATTERS.get(unit, FORMATTERS["text"])(value)


# the plain value a structured cell stands for, where a format writes values unformatted (CSV)
PLAIN: dict[str, Callable[[Any], Any]] = {"rf": rf_shown}


def plain(value: Any, unit: str) -> Any:
    return PLAIN[unit](value) if unit in PLAIN else value


def human(value: Any, unit: str) -> str:
    """A figure rounded for people, whatever its unit: 11.69 M, 1.82 GMAC, 64.00 MiB, 50.0%
    (a count gets an SI prefix, where :func:`fmt` writes it exactly)."""
    return fmt(value, "count_si" if unit == "count" else unit)


def signed(value: Any, unit: str) -> str:
    """A change: ``+1.71 K``, ``-768``, ``0``; empty for none."""
    if value is None:
        return ""
    if value == 0:
        return "0"
    return ("+" if value > 0 else "-") + human(abs(value), unit)


def sig3(n: Any, unit: str = "", table: Sequence[tuple[int, str]] = _SI, sep: str = " ") -> str:
    """Three significant digits with a prefix: 11,689,512 -> '11.7 M', 118,013,952 -> '118 M'."""
    if n is None:
        return "–"
    if n == 0:
        return "0"
    for scale, prefix in table:
        if abs(n) >= scale:
            v = n / scale
            text = f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
            return f"{text}{sep}{prefix}{unit}".rstrip()
    return f"{n:,}{sep}{unit}".rstrip() if isinstance(n, int) else f"{n:.3g}{sep}{unit}".rstrip()


_COMPACT: dict[str, Callable[[Any], str]] = {
    "count": lambda n: count(n) if n is None or isinstance(n, float) or abs(n) < 10_000 else sig3(n),
    "count_si": lambda n: sig3(n),
    "macs": lambda n: sig3(n, "MAC"),
    "flops": lambda n: sig3(n, "FLOP"),
    "ops": lambda n: sig3(n, "op"),
    "bytes": lambda n: "–" if n is None else (f"{n:,} B" if abs(n) < 1024 else sig3(n, "", _BIN)),
    "flops_rate": lambda x: sig3(x, "FLOP/s"),
    "bytes_rate": lambda x: sig3(x, "B/s"),
}


def compact(value: Any, unit: str) -> str:
    """The narrow form of :func:`fmt` for a terminal that cannot fit the exact one; never cut."""
    f = _COMPACT.get(unit)
    return f(value) if f is not None else fmt(value, unit)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 row``, ``3 rows``: a count and its noun, agreeing."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def join(parts: Sequence[str]) -> str:
    return ", ".join(p for p in parts if p)
