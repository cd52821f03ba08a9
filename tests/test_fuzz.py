"""Fuzzing: random specs over every registered layer type, every analytic figure against torch.

A generator grows a network as YAML text. Its first layer is drawn from the type's own
strategy in tests/strategies.py (so every type is reached with its whole distribution, and
the network's input is that strategy's input shape); every further step draws a type and its
fields from the same strategies and applies them to the running tensor, kept when cnnscope's
analysis accepts it. Branch steps build a second path from an earlier node (any layers, or
only shape-keeping ones for a residual) and join the two with ``add``, ``mul`` or ``concat``.

Each network is loaded with ``load_spec``, built with ``build_module`` and run once, and:

- every node's output shape equals the real tensor's;
- params / trainable / buffers equal the ``numel()`` sums, param and buffer bytes the
  ``nbytes`` sums, per node and in total;
- every node's ``2 * macs`` equals what ``torch.utils.flop_counter.FlopCounterMode`` counts
  when that node's module runs on its real inputs (it counts matmuls and convolutions only;
  cnnscope's MACs are exactly the conv/linear family, every other layer must count 0 on both
  sides), and the whole graph's total likewise;
- every node's ``activation_bytes`` (memory analyzer) equals the real output's ``nbytes`` (a
  mask's or an index's at torch's bool / int64 element size: the built module keeps them float);
- the output's receptive field, when cnnscope gives one (not global, not unsupported, no
  misalignment warning), equals the gradient measurement of tests/rf_oracle.py on an input
  large enough not to clip.

Profiles: ``ci`` (default, 40 examples) stays fast; ``HYPOTHESIS_PROFILE=fuzz`` is the long
campaign (10,000 examples).
"""

from __future__ import annotations

import warnings
from math import prod
from typing import Any

import pytest
import torch
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import STRATEGIES
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from torch_oracle import custom_formulas, mha_fastpath_disabled

from cnnscope.analyze.base import analyze
from cnnscope.analyze.memory import element_types
from cnnscope.analyze.rf import receptive_fields
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import CnnscopeError
from cnnscope.frontends.yaml.loader import load_spec, make_layer
from cnnscope.layers import registry
from cnnscope.layers.base import BOOL, FLOAT, INT64
from cnnscope.profile.build import build_module

torch.set_num_threads(1)

# types without a strategy are test_layers_property.py's failure to report, not this file's
TYPES = sorted(t for t in registry() if t in STRATEGIES)
MERGES = ["add", "mul", "concat"]


def _nd(name: str) -> int | None:
    return next((nd for nd in (1, 2, 3) if f"{nd}d" in name), None)


# per spatial rank, the types that can take it: the N-d ones of that rank and the rank-free ones
BY_RANK = {nd: [t for t in TYPES if t not in MERGES and _nd(t) in (None, nd)] for nd in range(0, 4)}
Shape = tuple[int, ...]


class Net:
    """The network being drawn: YAML entries plus each node's shape (batch included)."""

    def __init__(self, draw: Any, input_shape: Shape, batch: int) -> None:
        self.draw = draw
        self.input = input_shape
        self.batch = batch
        self.shapes: dict[str, Shape] = {"input": (batch, *input_shape)}
        self.layers: list[dict[str, Any]] = []
        self.last = "input"

    def fits(self, type_name: str, fields: dict[str, Any], srcs: list[str]) -> Shape | None:
        """The output shape when cnnscope accepts the layer on these inputs, else None."""
        ins = [self.shapes[s] for s in srcs]
        try:
            layer = make_layer(registry()[type_name], dict(fields))
            layer.check_inputs(ins)
            out = tuple(layer.out_shape(ins))
        except CnnscopeError:
            return None
        return out if all(d >= 1 for d in out) else None

    def add(self, type_name: str, fields: dict[str, Any], srcs: list[str]) -> str | None:
        out = self.fits(type_name, fields, srcs)
        if out is None:
            return None
        name = f"n{len(self.layers) + 1}"
        entry: dict[str, Any] = {"name": name, "type": type_name, **fields}
        entry["from"] = srcs[0] if len(srcs) == 1 else list(srcs)
        self.layers.append(entry)
        self.shapes[name] = out
        self.last = name
        return name

    def try_layer(self, src: str, keep_shape: bool = False, tries: int = 4) -> str | None:
        """Draw types and fields until one fits on ``src`` (at most ``tries`` draws)."""
        nd = len(self.shapes[src]) - 2
        for _ in range(tries):
            pool = BY_RANK.get(nd) if self.draw(st.booleans()) else None
            t = self.draw(st.sampled_from(pool or TYPES))
            if t in MERGES:
                continue
            fields, _ = self.draw(STRATEGIES[t])
            out = self.fits(t, fields, [src])
            if out is None or (keep_shape and out != self.shapes[src]):
                continue
            return self.add(t, fields, [src])
        return None

    def merge(self, a: str, b: str) -> str | None:
        t = self.draw(st.sampled_from(MERGES))
        fields, _ = self.draw(STRATEGIES[t])
        srcs = [a, b] if self.draw(st.booleans()) else [b, a]
        return self.add(t, fields, srcs) or self.add(t, {}, srcs)

    def step(self) -> None:
        kind = self.draw(st.sampled_from(["layer", "layer", "layer", "residual", "branch"]))
        if kind == "layer":
            self.try_layer(self.last)
            return
        cur = self.last
        src = self.draw(st.sampled_from(["input", *(e["name"] for e in self.layers)]))
        end = src
        for _ in range(self.draw(st.integers(0 if kind == "branch" else 1, 2))):
            end = self.try_layer(end, keep_shape=kind == "residual") or end
        if end == cur:  # the path came back to where it started: join the two ends anyway
            end = src
        self.merge(cur, end)

    def yaml(self, input_shape: Shape | None = None) -> str:
        doc = {"name": "fuzz", "input": list(input_shape or self.input), "layers": self.layers}
        return yaml.safe_dump(doc, sort_keys=False)


@st.composite
def networks(draw: Any) -> tuple[str, int]:
    batch = draw(st.sampled_from([1, 2]))
    first = draw(st.sampled_from(TYPES))
    for _ in range(3):  # the first layer's own strategy, until a draw fits (it usually does)
        fields, shapes = draw(STRATEGIES[first])
        net = Net(draw, shapes[0], batch)
        srcs = ["input"] * len(shapes)
        if net.add(first, fields, srcs) or net.add(first, fields, ["input", "input"] if first in MERGES else srcs):
            break
    for _ in range(draw(st.integers(0, 5))):
        net.step()
    if not net.layers:
        net.add("identity", {}, ["input"])
    return net.yaml(), batch


def run_nodes(text: str, batch: int) -> None:
    """Every figure of every node against the torch module (see the module docstring)."""
    graph = load_spec(text, "fuzz.yaml")
    report = analyze(graph, ["shapes", "params", "compute", "memory"], batch=batch)
    module = build_module(graph, batch)
    kinds = element_types(graph)
    x = torch.randn(batch, *graph.input_shape)
    # attention counted as matmuls: on CPU the fused sdpa kernel and MultiheadAttention's fast
    # path count 0 in FlopCounterMode (tests/torch_oracle.py)
    with torch.no_grad(), warnings.catch_warnings(), sdpa_kernel(SDPBackend.MATH), mha_fastpath_disabled():
        warnings.simplefilter("ignore")
        with FlopCounterMode(display=False, custom_mapping=custom_formulas()) as whole:
            outs = module(x, return_all=True)
        env = {"input": x, **outs}
        for node in graph.nodes:
            row = report.row(node.name)
            where = f"node `{node.name}` ({node.type})\n{text}"
            out = outs[node.name]
            assert tuple(out.shape) == tuple(row["output_shape"]), where
            # the built module keeps masks and indices at the data's float dtype
            # (layers/_compare_torch.py); their bytes are torch's bool and int64 ones, held against
            # torch's own ops in tests/test_memory_dtypes.py
            per = out.element_size() if kinds[node.name] == FLOAT else {BOOL: 1, INT64: 8}[kinds[node.name]]
            assert row["activation_bytes"] == out.numel() * per, where
            sub = module.layer(node.name)
            ps = list(sub.parameters())
            assert row["params"] == sum(p.numel() for p in ps), where
            assert row["trainable_params"] == sum(p.numel() for p in ps if p.requires_grad), where
            assert row["buffers"] == sum(b.numel() for b in sub.buffers()), where
            assert row["param_bytes"] == sum(p.nbytes for p in ps), where
            assert row["buffer_bytes"] == sum(b.nbytes for b in sub.buffers()), where
            with FlopCounterMode(display=False, custom_mapping=custom_formulas()) as one:
                sub(*[env[i] for i in node.inputs])
            assert 2 * row["macs"] == one.get_total_flops(), where
            assert row["flops"] == 2 * row["macs"], where
    totals = report.totals
    params = list(module.parameters())
    assert totals["params"] == sum(p.numel() for p in params), text
    assert totals["trainable_params"] == sum(p.numel() for p in params if p.requires_grad), text
    assert totals["buffers"] == sum(b.numel() for b in module.buffers()), text
    assert 2 * totals["macs"] == whole.get_total_flops() == totals["flops"], text
    assert totals["activation_bytes"] == sum(report.row(n)["activation_bytes"] for n in outs), text
    assert totals["input_bytes"] == x.nbytes, text


MAX_RF_ELEMENTS = 300_000  # keeps one measurement well under a second


def check_rf(text: str, batch: int = 1) -> bool:
    """Analytic receptive field of the output == measured, on an input that does not clip.

    Returns whether a comparison was made (False: global, unsupported, misaligned, or an
    enlarged input the network does not accept)."""
    from rf_oracle import measure_rf

    graph = load_spec(text, "fuzz.yaml")
    rf = receptive_fields(graph, infer_shapes(graph, batch))[graph.output]
    if not rf.ok or rf.warnings or rf.ndim == 0 or rf.ndim != len(graph.input_shape) - 1:
        return False
    spatial = tuple(2 * r + 4 * j + 2 * abs(p) + 8 for r, j, p in zip(rf.size, rf.stride, rf.padding, strict=True))
    if graph.input_shape[0] * prod(spatial) > MAX_RF_ELEMENTS:
        return False
    try:
        big = load_spec(text, "fuzz.yaml", input_shape=(graph.input_shape[0], *spatial))
        big_shapes = infer_shapes(big, batch)
        rf_big = receptive_fields(big, big_shapes)[big.output]
        if batch != 1:
            infer_shapes(big, 1)  # the oracle measures at batch 1 (a slice or glu of dim 0 may need more)
    except CnnscopeError:
        return False  # e.g. a fixed-size layer (layernorm, linear) that only fits the drawn size
    if not rf_big.ok or rf_big.warnings or rf_big.ndim != len(spatial):
        return False
    if len(big_shapes[big.output]) != len(spatial) + 2:  # the oracle needs (N, C, *spatial) out
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = measure_rf(big)
        except AssertionError as exc:  # the measured unit lies in zero padding: it sees nothing
            if "no non-zero input gradient" in str(exc):
                return False
            raise
    if m.clipped or len(m.size) != len(spatial):
        return False
    assert m.size == rf_big.size, (m, rf_big, text)
    for d in range(len(spatial)):
        if m.stride[d] is not None:
            assert m.stride[d] == rf_big.stride[d], (m, rf_big, text)
            assert m.padding[d] == rf_big.padding[d], (m, rf_big, text)
    return True


# found by the 10,000-example campaign: a permute leaves a non-contiguous tensor, on which
# torch's LocalResponseNorm (a `view`) raised; the built module now makes it contiguous
PERMUTE_THEN_LRN = """
name: fuzz
input: [1, 1, 2, 2]
layers:
  - {name: n1, type: adaptiveavgpool3d, output_size: [1, 1, 2], from: input}
  - {name: n2, type: permute, dims: [0, 1, 2, 4, 3], from: input}
  - {name: n3, type: alphadropout, p: 0.0, from: n2}
  - {name: n4, type: hardsigmoid, from: n3}
  - {name: n5, type: localresponsenorm, size: 1, alpha: 0.5, beta: 0.75, k: 1.0, from: n4}
"""


@given(networks())
@example(case=(PERMUTE_THEN_LRN, 1))
def test_random_specs_agree_with_torch(case: tuple[str, int]) -> None:
    text, batch = case
    run_nodes(text, batch)
    check_rf(text, batch)


# -- pinned networks: hand-written ones that reach each check, whatever hypothesis draws ----

PINNED = {
    "conv-stack": """
input: [3, 11, 9]
layers:
  - {name: a, type: conv2d, out_channels: 4, kernel_size: 3, stride: 2, padding: 1, groups: 1}
  - {name: b, type: conv2d, out_channels: 4, kernel_size: [3, 1], dilation: 2, groups: 2, bias: false}
  - {name: c, type: maxpool2d, kernel_size: 2, ceil_mode: true}
""",
    "transpose-and-linear": """
input: [2, 5]
layers:
  - {name: up, type: convtranspose1d, out_channels: 4, kernel_size: 3, stride: 2, groups: 2, output_padding: 1}
  - {name: fc, type: linear, out_features: 3}
""",
    "residual-concat-mul": """
input: [4, 8, 8]
layers:
  - {name: a, type: conv2d, out_channels: 4, kernel_size: 3, padding: same, padding_mode: reflect}
  - {name: r, type: add, from: [a, input]}
  - {name: b, type: conv2d, out_channels: 2, kernel_size: 1, from: input}
  - {name: cat, type: concat, from: [r, b]}
  - {name: g, type: adaptiveavgpool2d, output_size: 1}
  - {name: m, type: mul, from: [cat, g]}
""",
    "pads-and-pools": """
input: [1, 9]
layers:
  - {name: p, type: zeropad1d, padding: [2, -1]}
  - {name: q, type: avgpool1d, kernel_size: 3, stride: 2, padding: 1}
  - {name: r, type: conv1d, out_channels: 2, kernel_size: 2, dilation: 3}
""",
    "conv3d-batchnorm": """
input: [2, 4, 5, 5]
layers:
  - {name: a, type: conv3d, out_channels: 2, kernel_size: [1, 3, 3], padding: [0, 1, 1]}
  - {name: b, type: batchnorm3d}
  - {name: c, type: maxpool3d, kernel_size: 2}
""",
    # found by the campaign: concat along a spatial dim was taken as pointwise for the receptive
    # field (size 1), but its second half sees other input positions (now: unsupported)
    "concat-along-length": """
input: [1, 2]
layers:
  - {name: n1, type: reflectionpad1d, padding: 1}
  - {name: n2, type: logsoftmax, dim: 0}
  - {name: n3, type: elu, alpha: 0.5, from: n1}
  - {name: n4, type: concat, dim: 2, from: [n3, n2]}
""",
}


@pytest.mark.parametrize("name", sorted(PINNED))
@pytest.mark.parametrize("batch", [1, 2])
def test_pinned_networks(name: str, batch: int) -> None:
    run_nodes(PINNED[name], batch)


@pytest.mark.parametrize("name", ["conv-stack", "pads-and-pools", "conv3d-batchnorm"])
def test_pinned_receptive_fields_are_measured(name: str) -> None:
    assert check_rf(PINNED[name])


def test_conv_stack_by_hand() -> None:
    # 11x9, k3 s2 p1 -> 6x5; k(3,1) dil 2 -> 6-4=2 x 5; maxpool 2 ceil -> 1x3
    graph = load_spec(PINNED["conv-stack"], "fuzz.yaml")
    report = analyze(graph, ["compute", "memory"], batch=1)
    assert report.row("a")["output_shape"] == [1, 4, 6, 5]
    assert report.row("b")["output_shape"] == [1, 4, 2, 5]
    assert report.row("c")["output_shape"] == [1, 4, 1, 3]
    # MACs: out elements x (Cin/groups x kernel)
    assert report.row("a")["macs"] == 4 * 6 * 5 * 3 * 9
    assert report.row("b")["macs"] == 4 * 2 * 5 * 2 * 3
    assert report.row("c")["activation_bytes"] == 4 * 1 * 3 * 4


def test_concat_along_a_spatial_dim_has_no_receptive_field() -> None:
    graph = load_spec(PINNED["concat-along-length"], "fuzz.yaml")
    assert receptive_fields(graph)["n4"].status == "unsupported"
    assert not check_rf(PINNED["concat-along-length"])
    # along channels it stays pointwise: the field of the (aligned) inputs
    chan = load_spec(
        "input: [1, 9]\nlayers:\n  - {name: a, type: conv1d, out_channels: 1, kernel_size: 3}\n"
        "  - {name: c, type: concat, from: [a, a]}\n",
        "fuzz.yaml",
    )
    assert receptive_fields(chan)["c"].size == (3,)
