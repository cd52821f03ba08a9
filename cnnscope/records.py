"""Records: frozen (and mutable) dataclasses without generated code.

``@dataclass`` generates and compiles ``__init__``, ``__eq__``, ``__repr__`` and ``__hash__``
for every class when its module is imported, about half a millisecond a class, which every
analytic command paid at start-up. :func:`record` and :func:`mutable_record` keep the
dataclass itself (its fields; ``dataclasses.fields`` and ``replace`` work) and give every
class the same generic methods instead, from :class:`Record` and :class:`MutableRecord`.
Imports nothing of cnnscope: every part may use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, dataclass_transform

R = TypeVar("R", bound=type)
_SPECS: dict[type, tuple[tuple[tuple[str, Any, Any], ...], tuple[str, ...], tuple[str, ...], bool]] = {}


@dataclass_transform(frozen_default=True)
def record(cls: R) -> R:
    """A frozen dataclass whose ``__init__``, equality, hash and repr are :class:`Record`'s
    generic ones. ``@dataclass(frozen=True)`` would generate and compile six methods for each
    class when its module is imported, about half a millisecond a class, which every analytic
    command paid; these behave the same (``dataclasses.fields`` and ``replace`` work)."""
    doc = cls.__dict__.get("__doc__")
    if doc is None:
        cls.__doc__ = "-"  # else dataclass writes one from inspect.signature
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)  # the class itself, with its fields
    if doc is None:
        cls.__doc__ = None
    return cls


@dataclass_transform()
def mutable_record(cls: R) -> R:
    """:func:`record` for a :class:`MutableRecord` (fields that may change)."""
    return record(cls)


def _spec(cls: type) -> tuple[tuple[tuple[str, Any, Any], ...], tuple[str, ...], tuple[str, ...], bool]:
    spec = _SPECS.get(cls)
    if spec is None:
        fs = [f for f in dataclasses.fields(cls) if f.init]
        spec = _SPECS[cls] = (
            tuple((f.name, f.default, f.default_factory) for f in fs),
            tuple(f.name for f in dataclasses.fields(cls) if f.compare),
            tuple(f.name for f in dataclasses.fields(cls) if f.repr),
            hasattr(cls, "__post_init__"),
        )
    return spec


class _Fields:
    """What a dataclass generates, once for every class: ``__init__`` (``__post_init__`` called
    as a dataclass calls it), equality (of one class, field by field) and repr."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # object.__setattr__, not the instance's __dict__: reading that dict would cost every
        # later attribute read its fast path (CPython keeps attributes inline until then)
        init, _cmp, _rep, post = _spec(type(self))
        put = object.__setattr__
        if len(args) == len(init) and not kwargs and not post:  # the common call: every field, in order
            for (name, _default, _factory), value in zip(init, args):
                put(self, name, value)
            return
        if len(args) > len(init):
            raise TypeError(f"{type(self).__name__}() takes {len(init)} positional arguments, got {len(args)}")
        for k, (name, default, factory) in enumerate(init):
            if k < len(args):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
                put(self, name, args[k])
            elif name in kwargs:
                put(self, name, kwargs.pop(name))
            elif default is not dataclasses.MISSING:
                put(self, name, default)
            elif factory is not dataclasses.MISSING:
                put(self, name, factory())
            else:
                raise TypeError(f"{type(self).__name__}() missing the argument {name!r}")
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        if post:
            self.__post_init__()  # type: ignore[attr-defined]

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in _spec(type(self))[1])

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _spec(type(self))[2])
        return f"{type(self).__qualname__}({fields})"


class Record(_Fields):
    """Base of :func:`record` classes: a frozen dataclass's semantics (fields set once, then
    immutable; hashed by its fields)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._key())


class MutableRecord(_Fields):
    """Base of :func:`mutable_record` classes: a plain dataclass's semantics (fields that may
    change; no hash)."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
