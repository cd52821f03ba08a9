"""The spec document's structure: mappings and lists where they belong, the keys a mapping
may have, and the ``input`` shape; each refusal a located SpecError."""

from __future__ import annotations

from typing import Any

from cnnscope.errors import Location, SpecError, did_you_mean
from cnnscope.frontends.yaml.yamlio import LList, LMap

TOP_KEYS = ("name", "input", "layers", "blocks", "output", "description", "lint", "budget", "meta")
ENTRY_KEYS = ("name", "from", "repeat", "when", "shares")


def _loc_of(m: Any, key: Any = None) -> Location | None:
    if isinstance(m, LMap):
        return m.val_loc(key) if key is not None else m.loc
    if isinstance(m, LList):
        return m.item_loc(key) if isinstance(key, int) else m.loc
    return None


def _expect_map(v: Any, what: str, loc: Location | None) -> LMap:
    if not isinstance(v, dict):
        raise SpecError("wrong-type", f"{what} must be a mapping, got {_describe(v)}", loc)
    if not isinstance(v, LMap):  # data built in Python, not parsed
        m = LMap(loc)
        m.update(v)
        return m
    return v


def _expect_list(v: Any, what: str, loc: Location | None) -> LList:
    if not isinstance(v, list):
        raise SpecError("wrong-type", f"{what} must be a list, got {_describe(v)}", loc)
    if not isinstance(v, LList):
        lst = LList(loc)
        lst.extend(v)
        return lst
    return v


def _describe(v: Any) -> str:
    from cnnscope.layers.fields import _typename

    return _typename(v)


def _check_keys(m: LMap, allowed: tuple[str, ...], what: str, hint: str | None = None) -> None:
    for k in m:
        if k not in allowed:
            raise SpecError(
                "unknown-field",
                f"{what} has no key `{k}`{did_you_mean(str(k), allowed)}",
                m.key_loc(k),
                hint or "allowed: " + ", ".join(allowed),
            )


def parse_input_shape(v: Any, loc: Location | None) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v:
        raise SpecError(
            "wrong-type",
            f"`input` must be a list like [3, 224, 224] (channels first, no batch), got {_describe(v)}",
            loc,
        )
    for i, d in enumerate(v):
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise SpecError(
                "bad-value", f"`input` sizes must be positive integers, got {_describe(d)}", _loc_of(v, i) or loc
            )
    if len(v) > 4:
        raise SpecError(
            "bad-value", f"`input` has {len(v)} dims; cnnscope takes [C], [C, L], [C, H, W] or [C, D, H, W]", loc
        )
    return tuple(v)
