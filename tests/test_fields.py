"""Field kinds: what each accepts, how it normalizes, and the words of each refusal."""

from __future__ import annotations

from typing import Any

import pytest

from cnnscope.layers.fields import (
    Bool,
    Choice,
    FieldError,
    Float,
    FloatOrFloats,
    Int,
    IntList,
    Ints,
    Kind,
    OptInt,
    Padding,
    Pads,
    fld,
    per_dim,
)


def refused(kind: Kind, value: Any, ndim: int | None = 2) -> FieldError:
    with pytest.raises(FieldError) as info:
        kind.coerce(value, ndim)
    return info.value


def test_kind_accepts_anything() -> None:
    assert Kind().coerce({"a": 1}, None) == {"a": 1}
    assert Kind().describe(None) == "any"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "got null"),
        (True, "got boolean true"),
        (False, "got boolean false"),
        (2.5, "got number 2.5"),
        ("3", "got string '3'"),
        ([1], "got a list of 1"),
        ([], "got an empty list"),
        ({"a": 1}, "got a mapping"),
        ((1,), "got tuple"),
    ],
)
def test_int_refuses_non_integers_and_names_what_came(value: Any, words: str) -> None:
    err = refused(Int(min=1), value)
    assert str(err) == f"expected a positive integer, {words}"


def test_int_bounds_and_descriptions() -> None:
    assert Int(min=1).coerce(3, None) == 3
    assert Int().coerce(4.0, None) == 4 and type(Int().coerce(4.0, None)) is int  # integral floats
    assert str(refused(Int(min=1), 0)) == "expected a positive integer, got 0"
    assert str(refused(Int(min=0), -1)) == "expected a non-negative integer, got -1"
    assert str(refused(Int(min=0, max=3), 4)) == "expected an integer from 0 to 3, got 4"
    assert Int(min=0, max=3).coerce(3, None) == 3
    assert Int().describe(None) == "an integer"
    assert Int(max=5).coerce(-100, None) == -100


def test_float() -> None:
    f = Float(min=0.0, max=1.0)
    assert f.coerce(1, None) == 1.0 and type(f.coerce(1, None)) is float
    assert f.describe(None) == "a number from 0 to 1"
    assert str(refused(f, 1.5)) == "expected a number from 0 to 1, got 1.5"
    assert str(refused(f, -0.1)) == "expected a number from 0 to 1, got -0.1"
    assert str(refused(f, True)) == "expected a number from 0 to 1, got boolean true"
    assert str(refused(f, "0.5")) == "expected a number from 0 to 1, got string '0.5'"
    assert "got nan" in str(refused(Float(), float("nan")))
    assert "got inf" in str(refused(Float(), float("inf")))
    assert "got -inf" in str(refused(Float(), float("-inf")))
    open_ = Float(min=0.0, min_open=True)
    assert open_.describe(None) == "a number > 0"
    assert str(refused(open_, 0)) == "expected a number > 0, got 0"
    assert Float(min=0.0).describe(None) == "a number >= 0"
    assert Float(min=0.0).coerce(0, None) == 0.0
    assert Float().describe(None) == "a number"
    assert Float().coerce(-1e9, None) == -1e9


def test_bool() -> None:
    assert Bool().coerce(False, None) is False
    assert str(refused(Bool(), 1)) == "expected true or false, got integer 1"
    assert str(refused(Bool(), "yes")) == "expected true or false, got string 'yes'"
    assert Bool().describe(None) == "true or false"


def test_choice_with_did_you_mean() -> None:
    c = Choice(("zeros", "reflect", "replicate", "circular"))
    assert c.coerce("reflect", None) == "reflect"
    err = refused(c, "reflekt")
    assert str(err) == (
        "expected one of zeros, reflect, replicate, circular, got string 'reflekt' (did you mean `reflect`?)"
    )
    assert str(refused(c, 3)) == "expected one of zeros, reflect, replicate, circular, got integer 3"
    assert c.describe(None) == "zeros | reflect | replicate | circular"


def test_ints_per_dim() -> None:
    k = Ints()
    assert k.coerce(3, 2) == (3, 3)
    assert k.coerce(3, 3) == (3, 3, 3)
    assert k.coerce(3, None) == (3,)
    assert k.coerce([1, 2], 2) == (1, 2)
    assert str(refused(k, [1, 2, 3], 2)) == "expected a positive integer or a list of 2, got a list of 3"
    err = refused(k, [1, 0], 2)
    assert str(err) == "expected a positive integer, got 0" and err.index == 1
    err = refused(k, ["a", 2], 2)
    assert err.index == 0
    assert str(refused(k, 0, 2)) == "expected a positive integer or a list of 2, got 0"
    assert str(refused(Ints(min=0), -1, 1)) == "expected an integer >= 0 or a list of 1, got -1"
    assert k.describe(3) == "a positive integer or a list of 3"


def test_ints_allow_none() -> None:
    k = Ints(allow_none=True)
    assert k.coerce(None, 2) == (None, None)
    assert k.coerce([None, 4], 2) == (None, 4)
    assert "got null" in str(refused(Ints(), None, 2))
    assert "got null" in str(refused(Ints(), [None, 1], 2))


def test_padding() -> None:
    p = Padding()
    assert p.coerce("same", 2) == "same" and p.coerce("valid", 1) == "valid"
    assert p.coerce(0, 2) == (0, 0)
    assert p.coerce([1, 0], 2) == (1, 0)
    err = refused(p, "full", 2)
    assert str(err) == "expected a non-negative integer or a list of 2, `same` or `valid`, got string 'full'"
    plain = Padding(strings=False)
    assert plain.describe(2) == "a non-negative integer or a list of 2"
    assert "got string 'same'" in str(refused(plain, "same", 2))
    assert str(refused(p, -1, 2)).endswith("got -1")


def test_int_list() -> None:
    k = IntList()
    assert k.coerce(5, None) == (5,)
    assert k.coerce([2, 3], None) == (2, 3)
    assert str(refused(k, [], None)) == "expected a non-empty list of integers, got an empty list"
    assert str(refused(k, [2, 0], None)) == "expected integers >= 1, got 0"
    assert str(refused(k, "x", None)) == "expected an integer >= 1 or a list, got string 'x'"
    assert k.describe(None) == "an integer or a list of integers"
    three = IntList(length=3)
    assert three.coerce(4, None) == (4, 4, 4)
    assert three.coerce([1, 2, 3], None) == (1, 2, 3)
    assert str(refused(three, [1, 2], None)) == "expected a list of 3 integers, got a list of 2"
    assert str(refused(three, 0, None)) == "expected an integer >= 1, got 0"
    assert three.describe(None) == "an integer or a list of 3 integers"


def test_pads() -> None:
    k = Pads()
    assert k.coerce(1, 2) == (1, 1, 1, 1)
    assert k.coerce(-2, 1) == (-2, -2)  # negative pads crop
    assert k.coerce([1, 0, 2, 1], 2) == (1, 0, 2, 1)
    assert k.coerce(3, None) == (3, 3)
    assert str(refused(k, [1, 2], 2)) == "expected one integer or a list of 4, got a list of 2"
    assert str(refused(k, "1", 2)) == "expected an integer or a list of 4, got string '1'"
    assert refused(k, [1, 2, 1.5, 0], 2).index == 2
    assert k.describe(3) == "an integer or a list of 6 (left, right, top, bottom, ...)"


def test_float_or_floats() -> None:
    k = FloatOrFloats()
    assert k.coerce(None, 2) is None
    assert k.coerce(2, 2) == (2.0,)
    assert k.coerce([1.5, 2], 2) == (1.5, 2.0)
    assert str(refused(k, [], 2)) == "expected a positive number or a list of them, got an empty list"
    assert str(refused(k, 0, 2)) == "expected a number > 0, got 0"
    assert refused(k, [1, -1], 2).index == 1
    assert k.describe(2) == "a positive number or a list of one per spatial dim"


def test_opt_int() -> None:
    k = OptInt(min=0)
    assert k.coerce(None, None) is None
    assert k.coerce(3, None) == 3
    assert str(refused(k, -1, None)) == "expected an integer or null, got -1"
    assert str(refused(k, 1.5, None)) == "expected an integer or null, got number 1.5"
    assert k.describe(None) == "an integer or null"


def test_fld_and_per_dim() -> None:
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class L:
        a: int = fld(Int(min=1), doc="required")
        b: int = fld(Int(), 3, doc="with a default")

    fa, fb = dataclasses.fields(L)
    assert fa.default is dataclasses.MISSING and fa.metadata["doc"] == "required"
    assert fb.default == 3 and isinstance(fb.metadata["kind"], Int)
    assert per_dim(2, 3) == (2, 2, 2)
    assert per_dim([1, 2], 2) == (1, 2)
    assert per_dim((4, 5), 2) == (4, 5)
    assert per_dim("same", 2) == ("same", "same")


def test_field_error_carries_field_and_hint() -> None:
    err = FieldError("bad", field="stride", hint="try 1")
    assert (str(err), err.field, err.hint, err.index) == ("bad", "stride", "try 1", None)


def test_messages_reach_the_user_located() -> None:
    from cnnscope.errors import SpecError
    from cnnscope.frontends.yaml.loader import load_spec

    text = "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernel_size: [3, 0]}\n"
    with pytest.raises(SpecError) as info:
        load_spec(text, "net.yaml")
    assert "expected a positive integer, got 0" in info.value.message
    assert info.value.loc is not None and info.value.loc.line == 3
