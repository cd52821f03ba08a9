"""``cnnscope.graph.record`` (one generic implementation of a dataclass's methods) behaves as
``dataclasses.dataclass`` itself: the oracle is a twin declared with the standard decorator."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from cnnscope.records import MutableRecord, Record, mutable_record, record


@record
class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PointTwin:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@mutable_record
class Box(MutableRecord):
    items: list[int]
    label: str = "box"

    def __post_init__(self) -> None:
        self.count = len(self.items)


@dataclass
class BoxTwin:
    items: list[int]
    label: str = "box"

    def __post_init__(self) -> None:
        self.count = len(self.items)


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1,), {}),
    ((1, 2), {}),
    ((1, 2, ("a",)), {}),
    ((1, 2, ("a",), {"k": 1}), {}),
    ((), {"x": 3}),
    ((3,), {"tags": ("b",), "y": 4}),
    ((), {}),  # missing x
    ((1, 2, (), {}, 5), {}),  # too many
    ((1,), {"x": 2}),  # twice
    ((1,), {"z": 2}),  # unknown
]


def _outcome(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        obj = cls(*args, **kwargs)
    except TypeError:
        return "TypeError"
    return (repr(obj).replace(cls.__name__, "C"), {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_construction_and_repr_as_a_dataclass(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert _outcome(Point, args, kwargs) == _outcome(PointTwin, args, kwargs)


def test_equality_hash_and_immutability_as_a_frozen_dataclass() -> None:
    for a1, k1 in CALLS[:6]:
        for a2, k2 in CALLS[:6]:
            p, q = Point(*a1, **k1), Point(*a2, **k2)
            pt, qt = PointTwin(*a1, **k1), PointTwin(*a2, **k2)
            assert (p == q) == (pt == qt)
            assert (hash(p) == hash(q)) == (hash(pt) == hash(qt)) or p != q
    p = Point(1, extra={"k": 1})
    assert p == Point(1, extra={"k": 2}) and p != PointTwin(1)  # extra is not compared; another class differs
    for target in (p, PointTwin(1)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            target.x = 5  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            del target.x  # type: ignore[misc]


def test_the_dataclass_functions_work() -> None:
    p = Point(1, 2, ("a",), {"k": 1})
    assert dataclasses.is_dataclass(p)
    assert [f.name for f in dataclasses.fields(p)] == [f.name for f in dataclasses.fields(PointTwin)]
    assert dataclasses.replace(p, y=7) == Point(1, 7, ("a",))
    assert dataclasses.asdict(p) == dataclasses.asdict(PointTwin(1, 2, ("a",), {"k": 1}))
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p


def test_a_mutable_record_as_a_dataclass() -> None:
    b, t = Box([1, 2]), BoxTwin([1, 2])
    assert (b.count, b.label, repr(b).replace("Box", "C")) == (t.count, t.label, repr(t).replace("BoxTwin", "C"))
    b.label = "new"
    t.label = "new"
    assert b == Box([1, 2], "new") and t == BoxTwin([1, 2], "new")
    with pytest.raises(TypeError):
        hash(b)
    with pytest.raises(TypeError):
        hash(t)
