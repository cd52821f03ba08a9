"""The capture-rule registry refuses a second rule for one op or one torch.nn class, and
says which two modules declare them."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("torch")

from cnnscope.frontends.torch import rules as registry


def _noop(call: object) -> None:
    return None


def test_a_second_rule_for_an_op_is_refused() -> None:
    before = registry.rules()
    owner = before["conv2d"].module
    with pytest.raises(
        ValueError, match=re.escape(f"capture rule for `conv2d` is registered twice ({owner}, {__name__})")
    ):
        registry.rule("conv2d")(_noop)
    assert registry.rules() == before  # the first rule stays


def test_a_second_rule_for_a_module_class_is_refused() -> None:
    registry.rules()
    first = registry.find_module("MultiheadAttention")
    assert first is not None
    with pytest.raises(
        ValueError,
        match=re.escape(f"capture rule for nn.MultiheadAttention is registered twice ({first.module}, {__name__})"),
    ):
        registry.module_rule("MultiheadAttention")(_noop)
    assert registry.find_module("MultiheadAttention") is first
