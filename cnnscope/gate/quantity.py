"""Quantities as people write them: ``12M``, ``1.5G``, ``64MiB``, ``64MB``, ``50%``, ``2GMAC``."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from cnnscope.errors import Location, UsageError

Number = int | float

_SI = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_QTY = re.compile(r"^\s*(?P<num>[+-]?(?:\d[\d_,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z%]*)\s*$")


def parse_quantity(value: Any, what: str = "budget", loc: Location | None = None) -> Number:
    """``"12M"`` -> 12_000_000, ``"1.5G"`` -> 1_500_000_000, ``"64MiB"`` -> 67_108_864,
    ``"64MB"`` -> 64_000_000, ``"50%"`` -> 0.5, ``12`` -> 12.

    A trailing ``B`` (bytes) is allowed after any prefix; so are the words ``MAC``/``FLOP``
    (``2GMAC``). Whole results are returned as ``int``. Raises :class:`UsageError`
    (``bad-quantity``) for anything else, naming what was wrong.
    """
    hint = "use a number with an optional unit: 12M, 1.5G, 64MiB, 64MB, 500K, 50%, or a plain integer"
    if isinstance(value, bool) or value is None:
        raise UsageError("bad-quantity", f"{what} must be a number, got `{value}`", loc, hint)
    if isinstance(value, (int, float)):
        return _checked(value, what, str(value), loc, hint)
    if not isinstance(value, str):
        raise UsageError("bad-quantity", f"{what} must be a number, got {type(value).__name__}", loc, hint)
    m = _QTY.match(value)
    if m is None:
        raise UsageError("bad-quantity", f"{what}: cannot read `{value}` as a quantity", loc, hint)
    num_text = m.group("num").replace("_", "").replace(",", "")
    unit = m.group("unit")
    scale = _unit_scale(unit)
    if scale is None:
        raise UsageError("bad-quantity", f"{what}: unknown unit `{unit}` in `{value}`", loc, hint)
    num = Decimal(num_text)  # exact: 1.1G is 1_100_000_000, not 1_100_000_000.0000002
    if num != 0 and num.adjusted() > 30:  # 1e999999 would be a million-digit int
        raise UsageError("bad-quantity", f"{what}: `{value[:80]}` is out of range (at most 10^30)", loc, hint)
    if unit == "%":
        num /= 100
    else:
        num *= scale
    result: Number = int(num) if num == num.to_integral_value() else float(num)
    return _checked(result, what, value, loc, hint)


_WORDS = ("MACs", "MAC", "macs", "mac", "FLOPs", "FLOP", "flops", "flop", "B")


def _unit_scale(unit: str) -> int | None:
    """The multiplier of a unit: an SI or binary prefix, optionally followed by B/MAC/FLOP."""
    if unit == "%":
        return 1
    for word in _WORDS:
        if unit.endswith(word):
            unit = unit[: -len(word)]
            break
    if unit in _BIN:
        return _BIN[unit]
    return _SI.get(unit)


MAX_QUANTITY = 10**30


def _checked(v: Number, what: str, text: str, loc: Location | None, hint: str) -> Number:
    text = text[:80]
    if isinstance(v, float) and not math.isfinite(v):
        raise UsageError("bad-quantity", f"{what} must be finite, got `{text}`", loc, hint)
    if v > MAX_QUANTITY:
        raise UsageError("bad-quantity", f"{what}: `{text}` is out of range (at most 10^30)", loc, hint)
    if v < 0:
        raise UsageError("bad-quantity", f"{what} must not be negative, got `{text}`", loc, hint)
    return v


def is_bytes_text(value: Any) -> bool:
    """Did the user write a byte unit (``64MiB``, ``1GB``, ``512B``)?"""
    return isinstance(value, str) and re.search(r"[0-9\s](?:[kKMGTP]i?)?[Bb]\s*$", value) is not None
