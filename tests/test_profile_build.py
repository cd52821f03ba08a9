"""graph -> nn.Module: node names that collide once dots become module paths."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from cnnscope.frontends.yaml.loader import load_spec  # noqa: E402
from cnnscope.profile.build import build_module  # noqa: E402

# `l0.a` makes a container `l0` before the layer named `l0` comes; `l0__a` is the flat name
# `l0.a` would take; `l0.a.b` hangs below a layer. Every one must stay its own module.
SPEC = """
input: [3, 8, 8]
layers:
  - {name: l0.a, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: l0, type: conv2d, out_channels: 5, kernel_size: 1}
  - {name: l0__a, type: conv2d, out_channels: 6, kernel_size: 1}
  - {name: l0.a.b, type: conv2d, out_channels: 7, kernel_size: 1}
"""


def test_colliding_names_each_keep_their_module() -> None:
    graph = load_spec(SPEC, "collide.yaml")
    module = build_module(graph)
    expect = {"l0.a": (3, 4, 3), "l0": (4, 5, 1), "l0__a": (5, 6, 1), "l0.a.b": (6, 7, 1)}
    for name, (cin, cout, k) in expect.items():
        layer = module.layer(name)
        assert isinstance(layer, torch.nn.Conv2d), name
        assert (layer.in_channels, layer.out_channels, layer.kernel_size) == (cin, cout, (k, k)), name
    # every parameter counted once: (3·3·3 + 1)·4 + (4 + 1)·5 + (5 + 1)·6 + (6 + 1)·7, by hand
    assert sum(p.numel() for p in module.parameters()) == 112 + 25 + 36 + 49
    assert module(torch.zeros(2, 3, 8, 8)).shape == (2, 7, 8, 8)
