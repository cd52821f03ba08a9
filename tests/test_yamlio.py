"""YAML → located data: locations, merge keys, aliases, and every refusal."""

from __future__ import annotations

import pytest

from cnnscope.errors import SpecError
from cnnscope.frontends.yaml.yamlio import LList, LMap, load_yaml


def test_locations_of_keys_values_and_items() -> None:
    doc = load_yaml("a: 1\nb:\n  - x\n  - [2, 3]\n", "f.yaml")
    assert isinstance(doc, LMap)
    assert tuple(doc.key_loc("b")) == ("f.yaml", 2, 1)
    items = doc["b"]
    assert isinstance(items, LList)
    assert tuple(items.item_loc(1)) == ("f.yaml", 4, 5)
    assert items.item_loc(9) == items.loc  # out of range: the list itself
    assert doc["b"][1] == [2, 3]


def test_merge_keys_fill_only_missing_keys() -> None:
    doc = load_yaml("base: &b {k: 3, s: 1}\nlayer:\n  <<: *b\n  s: 2\n")
    assert doc["layer"] == {"k": 3, "s": 2}
    many = load_yaml("a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n")
    assert many["c"] == {"x": 1, "y": 2}


def test_aliases_reuse_values() -> None:
    doc = load_yaml("k: &k [3, 3]\nl: *k\n")
    assert doc["l"] == [3, 3]


def test_scalars_resolve_as_yaml_1_1_safe_types() -> None:
    doc = load_yaml("i: 3\nf: 0.5\nb: true\nn: null\ns: '3'\nh: 0x10\n")
    assert doc == {"i": 3, "f": 0.5, "b": True, "n": None, "s": "3", "h": 16}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a: 1\na: 2\n", "duplicate-key"),
        ("a: !!python/object:os.system {}\n", "yaml-tag"),
        ("a: !!binary aGVsbG8=\n", "yaml-tag"),
        ("a: 1\n---\nb: 2\n", "yaml-syntax"),
        ("a: *nowhere\n", "yaml-syntax"),
        ("? [1, 2]\n: x\n", "yaml-syntax"),
        ("a: [1, 2\n", "yaml-syntax"),
        ("a:\n  <<: 3\n", "yaml-syntax"),
        ("", "empty-spec"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "too-deep"),
        ("a: 1\n\x00", "encoding"),
    ],
)
def test_refusals(text: str, kind: str) -> None:
    with pytest.raises(SpecError) as info:
        load_yaml(text, "bad.yaml")
    assert info.value.kind == kind
    assert info.value.loc is not None and info.value.loc.file == "bad.yaml"


def test_non_utf8_is_located_at_the_byte() -> None:
    with pytest.raises(SpecError) as info:
        load_yaml(b"a: 1\nb: \xff\n", "bad.yaml")
    assert info.value.kind == "encoding"
    assert (info.value.loc.line, info.value.loc.col) == (2, 4)  # type: ignore[union-attr]


def test_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 9)]
    with pytest.raises(SpecError) as info:
        load_yaml("\n".join(lines) + "\n")
    assert info.value.kind == "alias-bomb"
