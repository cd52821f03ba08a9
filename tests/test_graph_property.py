"""Whole graphs against torch: random stacks and branchy graphs, written as YAML text.

A generator draws a network (plain stacks, residual ``add``s with or without a projection,
Inception-like ``concat``s, squeeze-excitation ``mul`` gates, a repeated block with
arguments), emits it as YAML, and the test loads it with ``load_spec``, builds the torch
module with ``build_module`` and runs one real forward pass. Every node's output shape must
equal the analytic one, and the parameter totals (trainable / frozen) and buffers must
equal the ``numel()`` sums of the module. The generator tracks sizes only loosely, to stay
valid; torch is the oracle, not the generator.
"""

from __future__ import annotations

from typing import Any

import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cnnscope.analyze.base import analyze
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.frontends.yaml.loader import load_spec
from cnnscope.profile.build import build_module

torch.set_num_threads(1)

ACTS = ["relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", {"type": "leakyrelu", "negative_slope": 0.1}]


class Gen:
    def __init__(self, draw: Any, c: int, h: int, w: int) -> None:
        self.draw = draw
        self.c, self.h, self.w = c, h, w
        self.layers: list[Any] = []
        self.n = 0
        self.last = "input"
        self.channels: dict[str, int] = {"input": c}

    def name(self) -> str:
        self.n += 1
        return f"n{self.n}"

    def emit(self, entry: dict[str, Any], name: str | None = None, frm: Any = None, c: int | None = None) -> str:
        e = dict(entry)
        name = name or self.name()
        e["name"] = name
        if frm is not None:
            e["from"] = frm
        self.layers.append(e)
        self.channels[name] = self.c if c is None else c
        self.last = name
        return name

    def conv(self, cout: int, k: int, stride: int = 1, frm: Any = None) -> str:
        e: dict[str, Any] = {"type": "conv2d", "out_channels": cout, "kernel_size": k, "padding": k // 2}
        if stride != 1:
            e["stride"] = stride
        if self.draw(st.integers(0, 4)) == 0:
            e["bias"] = False
        if self.draw(st.integers(0, 5)) == 0:
            e["trainable"] = False
        if stride != 1:
            self.h, self.w = (self.h - 1) // stride + 1, (self.w - 1) // stride + 1
        self.c = cout
        return self.emit(e, frm=frm)

    def step(self) -> None:
        d = self.draw
        kind = d(st.sampled_from(["conv", "conv", "bn", "act", "pool", "res", "inception", "se", "misc"]))
        if kind == "conv":
            stride = 2 if min(self.h, self.w) >= 4 and d(st.booleans()) else 1
            self.conv(d(st.integers(1, 8)), d(st.sampled_from([1, 3, 5])), stride)
        elif kind == "bn":
            self.emit(
                {"type": d(st.sampled_from(["batchnorm2d", "instancenorm2d"])), "affine": d(st.booleans())}
                if min(self.h, self.w) > 1
                else {"type": "batchnorm2d"}
            )
        elif kind == "act":
            a = d(st.sampled_from(ACTS))
            self.emit(a if isinstance(a, dict) else {"type": a})
        elif kind == "pool" and min(self.h, self.w) >= 2:
            self.emit({"type": d(st.sampled_from(["maxpool2d", "avgpool2d"])), "kernel_size": 2})
            self.h, self.w = self.h // 2, self.w // 2
        elif kind == "res":
            x, cin = self.last, self.c
            cout = d(st.sampled_from([cin, cin, d(st.integers(1, 8))]))
            h0, w0 = self.h, self.w
            stride = 2 if min(self.h, self.w) >= 4 and d(st.booleans()) else 1
            self.conv(cout, 3, stride)
            self.emit({"type": "batchnorm2d"})
            self.emit({"type": "relu"})
            body = self.conv(cout, 3)
            short = x
            if cout != cin or stride != 1:
                hh, ww = self.h, self.w
                self.h, self.w = h0, w0
                short = self.conv(cout, 1, stride, frm=x)
                assert (self.h, self.w) == (hh, ww)
            self.emit({"type": "add"}, frm=[body, short])
        elif kind == "inception":
            x = self.last
            outs, total = [], 0
            for _ in range(d(st.integers(1, 3))):
                k = d(st.sampled_from([1, 3, 5]))
                cout = d(st.integers(1, 4))
                outs.append(self.conv(cout, k, frm=x))
                total += cout
            if d(st.booleans()):
                cx = self.channels[x]
                outs.append(self.emit({"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1}, frm=x, c=cx))
                total += cx
            self.c = total
            self.emit({"type": "concat"}, frm=outs)
        elif kind == "se":
            x, c = self.last, self.c
            self.emit({"type": "adaptiveavgpool2d", "output_size": 1}, frm=x)
            r = max(1, c // 2)
            self.emit({"type": "conv2d", "out_channels": r, "kernel_size": 1})
            self.emit({"type": "relu"})
            self.emit({"type": "conv2d", "out_channels": c, "kernel_size": 1})
            gate = self.emit({"type": "sigmoid"})
            self.c = c
            self.emit({"type": "mul"}, frm=[x, gate])
        else:
            misc = d(st.sampled_from(["identity", "dropout", "dropout2d", "zeropad2d"]))
            if misc == "zeropad2d":  # left 1, right 0, top 2, bottom 1 (torch's order)
                self.emit({"type": "zeropad2d", "padding": [1, 0, 2, 1]})
                self.h, self.w = self.h + 3, self.w + 1
            else:
                self.emit({"type": misc})


@st.composite
def networks(draw: Any) -> tuple[str, int]:
    c, h, w = draw(st.integers(1, 4)), draw(st.integers(4, 14)), draw(st.integers(4, 14))
    g = Gen(draw, c, h, w)
    doc: dict[str, Any] = {"name": "random", "input": [c, h, w]}
    for _ in range(draw(st.integers(1, 7))):
        g.step()
    if draw(st.booleans()):  # a parameterized block, repeated: exercises blocks/repeat/${}
        doc["blocks"] = {
            "unit": {
                "args": ["width", {"k": 3}],
                "layers": [
                    {
                        "name": "conv",
                        "type": "conv2d",
                        "out_channels": "${width}",
                        "kernel_size": "${k}",
                        "padding": "${k // 2}",
                    },
                    {"name": "act", "type": "relu"},
                    {"name": "sum", "type": "add", "from": ["act", "${'input' if i > 0 else 'act'}"]},
                ],
            }
        }
        g.layers.append(
            {
                "name": "stage",
                "block": "unit",
                "repeat": draw(st.integers(1, 3)),
                "width": draw(st.integers(1, 6)),
                "k": draw(st.sampled_from([1, 3])),
            }
        )
    if draw(st.booleans()):
        g.layers += [
            {"type": "adaptiveavgpool2d", "output_size": draw(st.sampled_from([1, [2, 1]]))},
            "flatten",
            {"type": "linear", "out_features": draw(st.integers(1, 10))},
        ]
    doc["layers"] = g.layers
    return yaml.safe_dump(doc, sort_keys=False), draw(st.sampled_from([1, 2]))


def check_against_torch(text: str, batch: int) -> None:
    graph = load_spec(text, "random.yaml")
    shapes = infer_shapes(graph, batch)
    module = build_module(graph, batch)
    x = torch.randn(batch, *graph.input_shape)
    with torch.no_grad():
        outs = module(x, return_all=True)
    assert set(outs) == {n.name for n in graph.nodes}
    for node in graph.nodes:
        assert tuple(outs[node.name].shape) == shapes[node.name], f"{node.name}:\n{text}"
    totals = analyze(graph, ["params"], batch=batch).totals
    params = list(module.parameters())
    assert totals["params"] == sum(p.numel() for p in params), text
    assert totals["trainable_params"] == sum(p.numel() for p in params if p.requires_grad), text
    assert totals["buffers"] == sum(b.numel() for b in module.buffers()), text


@given(networks())
def test_random_graphs_agree_with_torch(case: tuple[str, int]) -> None:
    text, batch = case
    check_against_torch(text, batch)


def test_handwritten_branchy_graph() -> None:
    # residual with projection, a two-branch concat and an SE gate, by hand
    text = """
input: [3, 9, 7]
layers:
  - {name: stem, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: a, type: conv2d, out_channels: 6, kernel_size: 3, stride: 2, padding: 1}
  - {name: proj, type: conv2d, out_channels: 6, kernel_size: 1, stride: 2, from: stem}
  - {name: res, type: add, from: [a, proj]}
  - {name: b1, type: conv2d, out_channels: 2, kernel_size: 1, from: res}
  - {name: b2, type: maxpool2d, kernel_size: 3, stride: 1, padding: 1, from: res}
  - {name: cat, type: concat, from: [b1, b2]}
  - {name: sq, type: adaptiveavgpool2d, output_size: 1}
  - {name: gate, type: sigmoid}
  - {name: scaled, type: mul, from: [cat, gate]}
"""
    graph = load_spec(text, "hand.yaml")
    shapes = infer_shapes(graph, 1)
    # by hand: 9x7 -> stride 2, pad 1, k 3: floor((9+2-3)/2)+1 = 5, floor((7+2-3)/2)+1 = 4
    assert shapes["res"] == (1, 6, 5, 4)
    assert shapes["cat"] == (1, 2 + 6, 5, 4)
    assert shapes["scaled"] == (1, 8, 5, 4)
    check_against_torch(text, 1)
