"""Raw field values -> one validated layer (``make_layer``), each problem a located
SpecError; identical configurations share one layer object through a cache keyed by
their frozen fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from cnnscope.errors import Location, SpecError, did_you_mean
from cnnscope.frontends.yaml.expr import substitute
from cnnscope.frontends.yaml.yamlio import LList, LMap
from cnnscope.layers.base import Layer
from cnnscope.layers.fields import FieldError


def _frozen(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_frozen(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), _frozen(x)) for k, x in v.items()))
    return (type(v).__name__, v)  # 1 and True and 1.0 must not share a key


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _frozen_fields(raw: Mapping[str, Any]) -> Any:
    """``_frozen(raw)`` for a mapping of fields, most of them scalars (the layer cache's key)."""
    items = [(str(k), (v.__class__.__name__, v) if v.__class__ in _SCALARS else _frozen(v)) for k, v in raw.items()]
    items.sort()
    return tuple(items)


def _fixed(v: Any) -> bool:
    """``substitute`` gives ``v`` back as it is: no ``${`` in it, no list of texts or lists."""
    if isinstance(v, str):
        return "${" not in v
    return not isinstance(v, list) or not any(isinstance(x, (str, list)) for x in v)


def _sub(e: LMap, key: str, vars: Mapping[str, Any]) -> Any:
    """The value of ``key`` with its expressions evaluated (located at it, should one fail)."""
    v = e[key]
    return v if _fixed(v) else substitute(v, vars, e.val_loc(key))


_FIELDS: dict[type[Layer], dict[str, dataclasses.Field[Any]]] = {}


def make_layer(
    cls: type[Layer],
    raw: Mapping[str, Any],
    e: LMap | None = None,
    vars: Mapping[str, Any] | None = None,
    cache: dict[Any, Layer] | None = None,
) -> Layer:
    """Build one layer from raw field values; every problem is a located SpecError.

    Layers are frozen values, so identical configurations share one object when a
    ``cache`` is given (a spec of 10,000 identical convolutions builds one).
    """

    def loc_of(k: str | None) -> Location | None:
        return e.val_loc(k) if e is not None else None

    if vars is not None:
        raw = {k: v if _fixed(v) else substitute(v, vars, loc_of(k)) for k, v in raw.items()}
    key = None
    if cache is not None:
        try:
            key = (cls, _frozen_fields(raw))
            hit = cache.get(key)
        except TypeError:  # unhashable value: build it and let the kinds complain
            key, hit = None, None
        if hit is not None:
            return hit
    layer = _make_layer(cls, raw, e, loc_of)
    if key is not None and cache is not None:
        cache[key] = layer
    return layer


def _make_layer(
    cls: type[Layer], raw: Mapping[str, Any], e: LMap | None, loc_of: Callable[[str | None], Location | None]
) -> Layer:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = {f.name: f for f in cls.fields()}
    kwargs: dict[str, Any] = {}
    tname = cls.type_name
    for k, v in raw.items():
        if k not in fields:
            inferred = {"in_channels", "in_features", "num_features", "num_channels"}
            hint = (
                f"`{k}` is inferred from the input shape; leave it out"
                if k in inferred
                else "fields: " + ", ".join(fields)
            )
            raise SpecError(
                "unknown-field",
                f"{tname} has no field `{k}`{did_you_mean(str(k), fields)}",
                e.key_loc(k) if e is not None else None,
                hint,
            )
        try:
            kwargs[k] = fields[k].metadata["kind"].coerce(v, cls.ndim)
        except FieldError as exc:
            where = loc_of(k)
            if exc.index is not None and isinstance(v, LList):
                where = v.item_loc(exc.index)
            raise SpecError("bad-value", f"{tname} `{k}`: {exc}", where, exc.hint) from None
    for name, f in fields.items():
        if name in kwargs:
            continue
        if f.default is dataclasses.MISSING:
            raise SpecError(
                "missing-field",
                f"{tname} needs `{name}`" + (f" ({f.metadata.get('doc')})" if f.metadata.get("doc") else ""),
                e.loc if e is not None else None,
            )
        if f.default is not None:
            kwargs[name] = f.metadata["kind"].coerce(f.default, cls.ndim)
    layer = cls(**kwargs)
    try:
        layer.validate()
    except FieldError as exc:
        where = loc_of(exc.field) if exc.field in raw else (e.loc if e is not None else None)
        raise SpecError("bad-value", f"{tname}: {exc}", where, exc.hint) from None
    return layer
