"""MACs, FLOPs and other ops: checked against fvcore, torch.utils.flop_counter and hand arithmetic.

Oracles: fvcore's ``FlopCountAnalysis`` counts one multiply-add of conv / linear as 1 (our
``macs``); ``FlopCounterMode`` counts it as 2 (our ``flops``). Both must agree exactly.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import replace
from math import prod
from typing import Any, ClassVar, cast

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import cnnscope
from cnnscope.errors import CnnscopeError
from cnnscope.frontends.yaml.loader import make_layer
from cnnscope.graph import Graph, Node
from cnnscope.layers.base import Layer, Shape, layer_dataclass, registry

torch = pytest.importorskip("torch")
fvcore_nn = pytest.importorskip("fvcore.nn")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")

FVCORE_MAC_OPS = {"conv", "linear", "addmm", "matmul", "bmm", "einsum"}


# -- oracles --------------------------------------------------------------------------


def _fvcore(module: Any, x: Any) -> Any:
    return fvcore_nn.FlopCountAnalysis(module, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def _fvcore_module(layer: Layer, ins: Sequence[Shape]) -> Any:
    """The module fvcore can trace: fvcore has no handle for torch's string-padding conv op
    (``padding='same'`` / ``'valid'`` report 0), so that case gets the same arithmetic with the
    padding made explicit (F.pad then an unpadded conv)."""
    padding = getattr(layer, "padding", None)
    if not isinstance(padding, str) or getattr(layer, "padding_mode", "zeros") != "zeros":
        return layer.to_torch(ins)
    pads = layer.pads()  # type: ignore[attr-defined]
    unpadded: Any = replace(cast(Any, layer), padding=(0,) * len(pads))
    inner = unpadded.to_torch(ins)
    flat = [p for lo_hi in reversed(pads) for p in lo_hi]  # F.pad lists the last dim first

    module_base: Any = torch.nn.Module

    class Padded(module_base):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.conv = inner

        def forward(self, x: Any) -> Any:
            return self.conv(torch.nn.functional.pad(x, flat))

    return Padded()


def _check_layer(layer: Layer, in_shape: Shape) -> None:
    ins = [in_shape]
    try:
        layer.check_inputs(ins)
        out = layer.out_shape(ins)
    except CnnscopeError:
        assume(False)
        return
    macs = layer.macs(ins, out)
    x = torch.randn(*in_shape)
    module = layer.to_torch(ins).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = module(x)
    assert tuple(y.shape) == tuple(out)
    fv = _fvcore(_fvcore_module(layer, ins).eval(), x)
    assert macs == fv.total(), (layer, in_shape, dict(fv.by_operator()))
    assert 2 * macs == counter.get_total_flops(), (layer, in_shape)


# -- strategies: every layer type that has a multiply-accumulate ------------------------


@st.composite
def conv_case(draw: st.DrawFn, type_name: str) -> tuple[Layer, Shape]:
    cls = registry()[type_name]
    nd = cls.ndim or 2
    transposed = type_name.startswith("convtranspose")
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 3))
    if draw(st.booleans()) and not transposed:  # depthwise
        groups, cin = cin, cin
    cout = groups * draw(st.integers(1, 3))
    small = 3 if nd == 3 else 4
    k = [draw(st.integers(1, 3)) for _ in range(nd)]
    stride = [draw(st.integers(1, 3)) for _ in range(nd)]
    dilation = [draw(st.integers(1, 2)) for _ in range(nd)]
    raw: dict[str, Any] = {
        "out_channels": cout,
        "kernel_size": k,
        "stride": stride,
        "dilation": dilation,
        "groups": groups,
        "bias": draw(st.booleans()),
    }
    if transposed:
        raw["padding"] = [draw(st.integers(0, 1)) for _ in range(nd)]
        raw["output_padding"] = [draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation, strict=True)]
        spatial = [draw(st.integers(1, small)) for _ in range(nd)]
    else:
        pad_choice = draw(st.sampled_from(["int", "int", "same", "valid"]))
        if pad_choice == "same":
            raw["stride"] = 1
            raw["padding"] = "same"
        elif pad_choice == "valid":
            raw["padding"] = "valid"
        else:
            raw["padding"] = [draw(st.integers(0, 2)) for _ in range(nd)]
        raw["padding_mode"] = draw(st.sampled_from(["zeros", "zeros", "zeros", "replicate", "circular"]))
        spatial = [d * (kk - 1) + draw(st.integers(1, small)) for kk, d in zip(k, dilation, strict=True)]
    try:
        layer = make_layer(cls, raw)
    except CnnscopeError:
        assume(False)
        raise
    batch = draw(st.integers(1, 2))
    return layer, (batch, cin, *spatial)


@st.composite
def linear_case(draw: st.DrawFn) -> tuple[Layer, Shape]:
    raw = {"out_features": draw(st.integers(1, 8)), "bias": draw(st.booleans())}
    middle = draw(st.lists(st.integers(1, 4), min_size=0, max_size=1))  # 2-d (N, F) or 3-d (N, L, F)
    shape = (draw(st.integers(1, 3)), *middle, draw(st.integers(1, 9)))
    return make_layer(registry()["linear"], raw), shape


CASES: dict[str, Callable[[], st.SearchStrategy[tuple[Layer, Shape]]]] = {
    **{
        name: (lambda name=name: conv_case(name))  # type: ignore[misc]
        for name in ("conv1d", "conv2d", "conv3d", "convtranspose1d", "convtranspose2d", "convtranspose3d")
    },
    "linear": linear_case,
}


# matrix products and attention: fvcore has no handler for sdpa and counts batched matmul and
# einsum its own way; their MACs are held against FlopCounterMode / 2 (torch's math path) on every
# draw of tests/test_layers_property.py
FLOP_COUNTER_ONLY = {"matmul", "einsum", "scaleddotproductattention", "multiheadattention"}
# convolutions whose weight is an input: the MACs of the conv*d they are (held above), and against
# FlopCounterMode / 2 on every draw of tests/test_layers_property.py and tests/test_capture_rules.py
FLOP_COUNTER_ONLY |= {f"dynamicconv{t}{nd}d" for t in ("", "transpose") for nd in (1, 2, 3)}


def test_every_mac_layer_has_a_strategy() -> None:
    with_macs = {name for name, cls in registry().items() if cls.macs is not Layer.macs} - FLOP_COUNTER_ONLY
    assert with_macs <= set(CASES), f"layer types with macs but no strategy: {sorted(with_macs - set(CASES))}"


@pytest.mark.parametrize("type_name", sorted(CASES))
def test_macs_match_fvcore_and_flop_counter(type_name: str) -> None:
    @given(CASES[type_name]())
    def check(case: tuple[Layer, Shape]) -> None:
        _check_layer(*case)

    check()


def test_depthwise_dilated_by_hand() -> None:
    # depthwise 3×3, dilation 2, 8 channels, 10×10 -> 6×6: each output reads 3·3·1 taps
    layer = make_layer(registry()["conv2d"], {"out_channels": 8, "kernel_size": 3, "dilation": 2, "groups": 8})
    ins = [(1, 8, 10, 10)]
    out = layer.out_shape(ins)
    assert out == (1, 8, 6, 6)
    assert layer.macs(ins, out) == 8 * 6 * 6 * (3 * 3 * 1) == 2592
    _check_layer(layer, ins[0])


# -- whole networks ---------------------------------------------------------------------


def test_lenet5_by_hand() -> None:
    r = cnnscope.analyze(cnnscope.load("lenet5"), ["compute"])
    conv1 = 28 * 28 * 6 * (5 * 5 * 1)  # 117,600
    conv2 = 10 * 10 * 16 * (5 * 5 * 6)  # 240,000
    fc = 400 * 120 + 120 * 84 + 84 * 10  # 58,920
    assert r.totals["macs"] == conv1 + conv2 + fc == 416_520
    assert r.totals["flops"] == 2 * 416_520
    assert r.row("conv2")["macs_share"] == pytest.approx(240_000 / 416_520)
    assert sum(row["macs_share"] for row in r.rows) == pytest.approx(1.0)
    assert r.totals["other_ops"] == {
        "bias": 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10,  # one add per output element
        "activation": 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84,  # one op per ReLU output
        "pool": 6 * 14 * 14 * (4 - 1) + 16 * 5 * 5 * (4 - 1),  # 2×2 max: 3 comparisons per output
    }


@pytest.fixture(scope="module")
def resnet18() -> tuple[Any, Any]:
    from cnnscope.profile.build import build_module

    graph = cnnscope.load("resnet18")
    return graph, build_module(graph)


def test_resnet18_matches_fvcore_flop_counter_and_torchvision(resnet18: tuple[Any, Any], shared: Any) -> None:
    graph, module = resnet18
    r = cnnscope.analyze(graph, ["compute"])
    x = torch.zeros(1, 3, 224, 224)
    fv = _fvcore(module, x)
    by_op = fv.by_operator()
    fv_macs = sum(v for k, v in by_op.items() if k in FVCORE_MAC_OPS)
    assert r.totals["macs"] == fv_macs == 1_814_073_344
    # fvcore's own total adds eval BatchNorm (2 per element, affine) and adaptive avg pool
    # (1 per input element): both are our other ops, and equal to them
    assert by_op["batch_norm"] == r.totals["other_ops"]["norm"]
    assert by_op["adaptive_avg_pool2d"] == r.row("avgpool")["other_ops"]["pool"] == 512 * 7 * 7
    assert fv.total() == r.totals["macs"] + r.totals["other_ops"]["norm"] + 512 * 7 * 7
    by_module = fv.by_module()
    for node in graph.nodes:
        if node.type in ("conv2d", "linear"):
            assert r.row(node.name)["macs"] == by_module[node.name], node.name
    meta_module = module.to("meta")
    with FlopCounterMode(display=False) as counter:
        meta_module(torch.empty(1, 3, 224, 224, device="meta"))
    assert counter.get_total_flops() == r.totals["flops"] == 2 * 1_814_073_344
    ref = json.loads((shared / "reference" / "torchvision_models.json").read_text())
    gflops = next(m["gflops"] for m in ref if m["model"] == "resnet18")
    assert round(r.totals["macs"] / 1e9, 3) == gflops  # torchvision's "GFLOPS" are GMACs


def test_batch_scales_linearly() -> None:
    g = cnnscope.load("resnet18")
    one, eight = cnnscope.analyze(g, ["compute"]), cnnscope.analyze(g, ["compute"], batch=8)
    assert eight.totals["macs"] == 8 * one.totals["macs"]
    assert eight.totals["other_ops_total"] == 8 * one.totals["other_ops_total"]


# -- other ops, by hand -----------------------------------------------------------------

EVERY_CATEGORY = """
name: every-op
input: [4, 8, 8]
layers:
  - {name: conv, type: conv2d, out_channels: 6, kernel_size: 3, padding: 1}
  - {name: bn, type: batchnorm2d}
  - {name: gn, type: groupnorm, num_groups: 2}
  - {name: act, type: relu}
  - {name: mp, type: maxpool2d, kernel_size: 2}
  - {name: ap, type: avgpool2d, kernel_size: 2}
  - {name: up, type: upsample, scale_factor: 2, mode: bilinear}
  - {name: gate, type: mul, from: [up, mp]}
  - {name: res, type: add, from: [gate, mp, up]}
  - {name: sm, type: softmax}
  - {name: gap, type: adaptiveavgpool2d, output_size: 1}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 5, bias: false}
"""


def test_other_ops_by_hand() -> None:
    r = cnnscope.analyze(cnnscope.load_spec(EVERY_CATEGORY), ["compute"])
    e = 6 * 8 * 8  # 384 elements after conv (padding 1 keeps 8×8)
    expected = {
        "conv": {"bias": e},  # one add per output element
        "bn": {"norm": 2 * e},  # eval: one multiply and one add per element
        "gn": {"norm": (5 + 2) * e},  # mean 1 + variance 2 + normalize 2, then affine 2
        "act": {"activation": e},
        "mp": {"pool": 6 * 4 * 4 * 3},  # 2×2 window: 3 comparisons per output
        "ap": {"pool": 6 * 2 * 2 * 4},  # 2×2 window: 3 adds and a divide per output
        "up": {"interpolate": 6 * 4 * 4 * (2 * 4 - 1)},  # bilinear: 4 products, 3 adds per output
        "gate": {"merge": 6 * 4 * 4 * 1},  # two inputs: one multiply per output
        "res": {"merge": 6 * 4 * 4 * 2},  # three inputs: two adds per output
        "sm": {"activation": 6 * 4 * 4 * 3},  # exp, sum, divide
        "gap": {"pool": 6 * 4 * 4},  # every input element read into one sum (adds + divide)
        "flat": {},
        "fc": {},  # bias: false
    }
    for name, ops in expected.items():
        row = r.row(name)
        assert row["other_ops"] == ops, name
        assert row["other_ops_total"] == sum(ops.values()), name
    assert r.row("fc")["macs"] == 6 * 5
    assert r.totals["other_ops_total"] == sum(sum(o.values()) for o in expected.values())
    assert list(r.totals["other_ops"]) == ["bias", "norm", "activation", "pool", "merge", "interpolate"]


@layer_dataclass
class _Opaque(Layer):
    type_name: ClassVar[str] = "opaque-test"
    opaque: ClassVar[bool] = True


def test_opaque_layers_mark_totals_incomplete() -> None:
    conv = make_layer(registry()["conv2d"], {"out_channels": 2, "kernel_size": 1})
    g = Graph.build("t", (3, 4, 4), [Node("c", conv, ("input",)), Node("x", _Opaque(), ("c",))])
    r = cnnscope.analyze(g, ["compute"])
    assert r.totals["incomplete"] is True and r.totals["unsupported"] == ["x"]
    assert r.totals["macs"] == 4 * 4 * 2 * 3


# -- the command ------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    from cnnscope.cli.main import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(list(args))
    return rc, buf.getvalue()


def test_flops_json_is_integers() -> None:
    rc, out = _cli("flops", "lenet5", "--format", "json", "--batch", "2")
    assert rc == 0
    doc = json.loads(out)
    for row in [*doc["layers"], doc["totals"]]:
        for key in ("macs", "flops", "other_ops_total"):
            assert type(row[key]) is int, key
        assert all(type(v) is int for v in row["other_ops"].values())
        assert row["flops"] == 2 * row["macs"]
    assert doc["totals"]["macs"] == 2 * 416_520
    assert sum(r["macs_share"] for r in doc["layers"]) == pytest.approx(1.0)


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_flops_formats(fmt: str) -> None:
    rc, out = _cli("flops", "lenet5", "--format", fmt)
    assert rc == 0 and "conv1" in out


def test_flops_and_summary_do_not_import_torch() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from cnnscope.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['flops', 'resnet18', '-f', 'json']) == 0\n"
        "    assert main(['summary', 'lenet5', '--dtype', 'float16']) == 0\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'fvcore'))\n"
        "assert not bad, bad[:5]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_prod_of_shapes_is_what_we_count() -> None:
    # conv transpose counts from its input: every input element meets Cout/groups·k taps
    layer = make_layer(registry()["convtranspose2d"], {"out_channels": 4, "kernel_size": 3, "stride": 2})
    ins = [(1, 2, 5, 5)]
    out = layer.out_shape(ins)
    assert out == (1, 4, 11, 11)  # (5 - 1)·2 + 3
    assert layer.macs(ins, out) == prod(ins[0]) * 4 * 9 == 1800
