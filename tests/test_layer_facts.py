"""What each layer type says it is (``Layer.window``, ``has_bias``, ``learned_linear``...)
against torch, on drawn configurations (tests/strategies.py).

The tools that reason about a network (lint, explain, fit, shift) ask the layer instead of
matching its family's name, so each claim is held against the real module here:

- the window-fit fact: the trailing input columns a layer never reads, counted by perturbing
  each in turn on a real input and seeing the output unchanged, equal
  :attr:`AxisFit.lost <cnnscope.layers.window.AxisFit.lost>` (undilated windows: a dilated one
  also skips the pixels between its taps, which is not what the rule counts);
- ``has_bias()``: the module has a ``bias`` (or ``in_proj_bias``) parameter;
- ``learned_linear``: the module is affine in its data input at inference and carries a weight
  of two dims or more (a matrix or a kernel, not a per-channel scale), and its
  ``channel_groups()`` are the module's ``groups``;
- ``commutes_with_monotone()``: ``f(layer(x)) == layer(f(x))`` for ReLU and tanh;
- ``pools`` with a global field: the output does not change when the input is rolled along
  its spatial dims.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import STRATEGIES
from test_layers_property import _built

from cnnscope.layers import Layer, RFKind, registry
from cnnscope.layers.window import axis_fits

TYPES = sorted(set(registry()) & set(STRATEGIES))


def _draw(type_name: str, data: st.DataObject) -> tuple[Layer, Any, list[torch.Tensor]]:
    built = _built(type_name, data.draw(STRATEGIES[type_name], label="case"), 2)
    assume(built is not None)
    assert built is not None
    (layer, module), xs = built
    return layer, module, xs


def _unseen_tail(module: Any, x: torch.Tensor, dim: int) -> int:
    """How many trailing positions along ``dim`` the output does not depend on: each one is
    raised by a large amount in turn, until one changes the output."""
    with torch.no_grad():
        base = module(x)
        n = 0
        for j in reversed(range(x.shape[dim])):
            bumped = x.clone()
            bumped.narrow(dim, j, 1).add_(100.0)
            if not torch.equal(module(bumped), base):
                break
            n += 1
    return n


@pytest.mark.parametrize("type_name", TYPES)
@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_window_fit_counts_the_pixels_torch_never_reads(type_name: str, data: st.DataObject) -> None:
    layer, module, xs = _draw(type_name, data)
    ins = [tuple(x.shape) for x in xs]
    window = layer.window(ins)
    if window is None or len(xs) != 1 or layer.border_fill() not in ("zeros", "-inf", "excluded"):
        return  # no window; or its padding reads pixels too (reflect, replicate, circular)
    assume(all(d == 1 for d in window.dilation))  # a dilated kernel also skips pixels between its taps
    with torch.no_grad():
        out = tuple(module(xs[0]).shape)
        assume(not torch.equal(module(xs[0] + 100.0), module(xs[0])))  # it reads some pixel at all
    for i, fit in enumerate(axis_fits(window, ins[0][2:], out[2:])):
        if fit.kernel < fit.stride:
            continue  # a strided 1×1 skips pixels between windows by design: not "lost"
        assert _unseen_tail(module, xs[0], 2 + i) == fit.lost, (type_name, fit)


@pytest.mark.parametrize("type_name", TYPES)
@settings(max_examples=20, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_layer_facts_agree_with_torch(type_name: str, data: st.DataObject) -> None:
    layer, module, xs = _draw(type_name, data)
    names = {n.rsplit(".", 1)[-1] for n, _ in module.named_parameters()}
    assert layer.has_bias() == bool(names & {"bias", "in_proj_bias"}), type_name
    with torch.no_grad():
        if layer.learned_linear:  # affine in its data input (a dynamic convolution's weight is its second)
            assert layer.channel_groups() == getattr(module, "groups", 1), type_name
            x, rest = xs[0], xs[1:]
            y = torch.randn_like(x)
            lhs = module(x + y, *rest) + module(torch.zeros_like(x), *rest)
            assert torch.allclose(lhs, module(x, *rest) + module(y, *rest), atol=1e-9), type_name
            assert rest or any(p.dim() >= 2 for p in module.parameters()), type_name  # a weight, not a scale
        if layer.commutes_with_monotone():
            out = module(*xs)
            seen = torch.isfinite(out)  # a max-pool window over padding alone reads no input: -inf
            for f in (torch.relu, torch.tanh):
                same = torch.isclose(f(out), module(*[f(x) for x in xs]), atol=1e-12)
                assert bool(same[seen].all()), (type_name, f)
        ins = [tuple(x.shape) for x in xs]
        if layer.pools and len(xs) == 1 and xs[0].dim() > 2 and layer.rf(ins).kind is RFKind.GLOBAL:
            dims = tuple(range(2, xs[0].dim()))
            rolled = module(torch.roll(xs[0], shifts=(1,) * len(dims), dims=dims))
            assert torch.allclose(rolled, module(xs[0]), atol=1e-9), type_name


def test_the_window_fit_oracle_bites() -> None:
    # 7 wide, kernel 3, stride 3: windows at 0..2 and 3..5, so column 6 is never read; at stride 2, none lost
    conv = torch.nn.Conv1d(1, 1, 3, stride=3).double()
    assert _unseen_tail(conv, torch.randn(1, 1, 7, dtype=torch.float64), 2) == 1
    conv = torch.nn.Conv1d(1, 1, 3, stride=2).double()
    assert _unseen_tail(conv, torch.randn(1, 1, 7, dtype=torch.float64), 2) == 0


@pytest.mark.parametrize("type_name", TYPES)
@settings(max_examples=20, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_config_loads_back_to_the_same_layer(type_name: str, data: st.DataObject) -> None:
    # what export writes for a layer (its non-default fields as YAML values) is that layer again:
    # a list field stays a list where one value would mean something else (`pad: [1, 1]`, not `pad: 1`)
    from cnnscope.frontends.yaml.loader import make_layer

    layer, _module, _xs = _draw(type_name, data)
    assert make_layer(type(layer), layer.config()) == layer, type_name
