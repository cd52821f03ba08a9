"""``${...}`` expressions: every operator against Python's own arithmetic, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from cnnscope.errors import Location, SpecError
from cnnscope.frontends.yaml.expr import evaluate, is_expr, substitute

LOC = Location("net.yaml", 7, 9)
SCOPE = {"c": 64, "i": 2, "width": 16, "ratio": 0.25, "flag": True, "name": "conv"}


def ev(src: str, scope: dict[str, Any] | None = None) -> Any:
    return evaluate("${" + src + "}", SCOPE if scope is None else scope, LOC)


def fails(src: str, kind: str = "bad-expression") -> SpecError:
    with pytest.raises(SpecError) as info:
        ev(src)
    assert info.value.kind == kind
    assert info.value.loc == LOC
    return info.value


@pytest.mark.parametrize(
    ("src", "want"),
    [
        ("c + 3", 67),
        ("c - 70", -6),
        ("c * i", 128),
        ("c // 3", 21),
        ("c / 5", 12.8),
        ("c % 10", 4),
        ("i ** 3", 8),
        ("-c", -64),
        ("+c", 64),
        ("not flag", False),
        ("flag and i > 1", True),
        ("i == 3 or c > 100", False),
        ("i != 2", False),
        ("1 < i <= 2 < c", True),
        ("1 < i < 2", False),
        ("i >= 3", False),
        ("c if i == 0 else width", 16),
        ("[c, width * 2, 1]", [64, 32, 1]),
        ("(1, i)", [1, 2]),
        ("min(c, width, 3)", 3),
        ("max(c, width)", 64),
        ("abs(i - c)", 62),
        ("int(ratio * c)", 16),
        ("round(2.6)", 3),
        ("True", True),
        ("False or 0", False),
        ("'input' if i > 0 else name", "input"),
        ("ratio * 2", 0.5),
    ],
)
def test_operators_compute_as_python_does(src: str, want: Any) -> None:
    got = ev(src)
    assert got == want and type(got) is type(want)


def test_is_expr_only_for_whole_dollar_braces() -> None:
    assert is_expr("${c}") and is_expr("  ${ c + 1 }  ")
    assert not is_expr("c") and not is_expr("x${c}") and not is_expr(3) and not is_expr("${c")


def test_unknown_name_suggests_the_close_one() -> None:
    err = fails("widht * 2", "unknown-name")
    assert "`widht` is not defined" in err.message
    assert "did you mean `width`?" in err.message
    assert err.hint and "repeat index" in err.hint


def test_unknown_name_without_a_close_one() -> None:
    err = fails("zzz", "unknown-name")
    assert "did you mean" not in err.message


@pytest.mark.parametrize(
    "src",
    [
        "c.bit_length()",  # attribute access and a method call
        "name.upper",  # attribute access
        "__import__('os')",  # a call to a function that is not allowed
        "(lambda: 1)()",
        "lambda x: x",
        "[x for x in [1, 2]]",
        "{'a': 1}",
        "{1, 2}",
        "c[0]",
        "min(c, key=abs)",  # keywords
        "c << 2",
        "c & 1",
        "~c",
        "i in [1, 2]",
        "c is None",
        "f'{c}'",
    ],
)
def test_disallowed_syntax_is_refused(src: str) -> None:
    err = fails(src)
    assert "is not allowed in" in err.message
    assert err.hint and "min/max/abs/int/round" in err.hint


def test_syntax_error() -> None:
    err = fails("c +")
    assert err.message.startswith("cannot parse `c +`")


@pytest.mark.parametrize("src", ["c / 0", "c // (i - 2)", "c % 0"])
def test_division_by_zero(src: str) -> None:
    err = fails(src)
    assert err.message == f"`{src}` divides by zero"


def test_huge_exponent_is_refused_before_computing() -> None:
    err = fails("2 ** 100000000")
    assert "exponent 100000000 is too large" in err.message
    assert "exponent" in fails("2 ** -65").message


def test_results_out_of_range() -> None:
    assert "out of range" in fails("2 ** 60").message  # 1.15e18 > 1e15
    assert "out of range" in fails("10 ** 10 * 10 ** 10").message
    assert ev("10 ** 15") == 10**15  # the bound itself is allowed


def test_sequence_repetition_is_bounded() -> None:
    # found while writing these tests: "ab" * 10**9 built a 2 GB string (fixed: capped)
    assert "too long" in fails("'ab' * 10 ** 9").message
    assert "too long" in fails("10 ** 9 * [0]").message
    assert ev("[0] * 3") == [0, 0, 0]
    assert ev("'ab' * 2") == "abab"


def test_complex_results_are_refused() -> None:
    # found while writing these tests: a negative base to a fractional power gave a complex
    assert "complex" in fails("(-8) ** 0.5").message


def test_type_errors_become_spec_errors() -> None:
    err = fails("name + 1")
    assert err.message.startswith("`name + 1`: ")
    assert fails("int('x')").message.startswith("`int('x')`: ")


def test_substitute_walks_lists_and_keeps_plain_values() -> None:
    assert substitute("${c // 2}", SCOPE, LOC) == 32
    assert substitute(["${i}", 3, ["${i * 2}"]], SCOPE, LOC) == [2, 3, [4]]
    assert substitute([1, 2], SCOPE, LOC) == [1, 2]
    assert substitute("plain", SCOPE, LOC) == "plain"
    assert substitute(5, SCOPE, LOC) == 5


def test_located_in_the_spec() -> None:
    from cnnscope.frontends.yaml.loader import load_spec

    text = """
input: [3, 8, 8]
blocks:
  unit:
    args: [width]
    layers:
      - {type: conv2d, out_channels: "${widht}", kernel_size: 1}
layers:
  - {block: unit, width: 4}
"""
    with pytest.raises(SpecError) as info:
        load_spec(text, "net.yaml")
    assert info.value.kind == "unknown-name"
    assert info.value.loc is not None and info.value.loc.file == "net.yaml" and info.value.loc.line == 7


def test_expressions_inside_text_become_text() -> None:
    # `name: "block-${i + 1}"` names each repeat as torchvision's RegNet does (block2-1, block2-2)
    assert substitute("block-${i + 1}", {"i": 1}, None) == "block-2"
    assert substitute("${a}x${b}", {"a": 3, "b": 4}, None) == "3x4"
    assert substitute("on-${flag}", {"flag": True}, None) == "on-true"
    with pytest.raises(SpecError) as info:
        substitute("x-${ {'a': 1} }", {}, None)
    assert info.value.kind == "bad-expression"


def test_templated_names_in_a_repeat() -> None:
    import cnnscope

    g = cnnscope.load_spec(
        "input: [3, 8, 8]\nlayers:\n"
        '  - {name: "block-${i + 1}", type: conv2d, out_channels: 3, kernel_size: 3, padding: 1, repeat: 3}\n'
        "  - {name: head, type: relu, from: block-2}\n"
        "  - {type: add, from: [head, block-3]}\n"
    )
    assert [n.name for n in g.nodes][:3] == ["block-1", "block-2", "block-3"]
    assert g.node("head").inputs == ("block-2",)
    with pytest.raises(SpecError) as info:
        cnnscope.load_spec(
            'input: [3, 8, 8]\nlayers:\n  - {name: "b${i // 2}", type: relu, repeat: 3}\n'
        )  # b0, b0: the template must name every repeat apart
    assert info.value.kind == "duplicate-name"
