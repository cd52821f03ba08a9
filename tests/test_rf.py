"""Receptive fields: analytic (Distill arithmetic) against measurement (gradient support).

The oracle is tests/rf_oracle.py: positive weights, identity nonlinearities and norms,
max-pool as a sum over the same windows; the span of non-zero input gradient of one output
unit is its receptive field. Torch is imported only inside the tests that measure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnscope
from cnnscope.analyze.rf import RFInfo, receptive_fields
from cnnscope.frontends.sources import builtin_path
from cnnscope.graph import Graph

ROOT = Path(__file__).resolve().parents[1]


def spec(layers: list[dict[str, Any]], input_shape: list[int], name: str = "t") -> Graph:
    doc = {"name": name, "input": input_shape, "layers": layers}
    return cnnscope.load_spec(json.dumps(doc))  # JSON is YAML


def check_measured(graph: Graph, node: str | None = None, spatial: tuple[int, ...] | None = None) -> RFInfo:
    """Assert analytic == measured at ``node``; pick an input large enough not to clip."""
    from rf_oracle import measure_rf

    node = node or graph.output
    rf = receptive_fields(graph)[node]
    assert rf.ok, rf
    if spatial is None:
        spatial = tuple(2 * r + 4 * j + 2 * abs(p) + 8 for r, j, p in zip(rf.size, rf.stride, rf.padding, strict=True))
    m = measure_rf(graph, node, spatial)
    assert not m.clipped, (m, rf)
    assert m.size == rf.size, (m, rf)
    assert m.stride == rf.stride, (m, rf)
    assert m.padding == rf.padding, (m, rf)
    return rf


# -- published values ------------------------------------------------------------------

VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16_features(width_div: int = 1) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    conv = pool = 0
    for v in VGG16_CFG:
        if v == "M":
            pool += 1
            layers.append({"name": f"pool{pool}", "type": "maxpool2d", "kernel_size": 2, "stride": 2})
        else:
            conv += 1
            layers.append(
                {
                    "name": f"conv{conv}",
                    "type": "conv2d",
                    "out_channels": max(1, int(v) // width_div),
                    "kernel_size": 3,
                    "padding": 1,
                }
            )
            layers.append({"name": f"relu{conv}", "type": "relu"})
    return layers


def test_vgg16_pool5_published() -> None:
    # Distill / google-research table: vgg_16/pool5 has rf 212, effective stride 32, padding 90
    g = spec(vgg16_features(), [3, 224, 224], "vgg16")
    rf = receptive_fields(g)["pool5"]
    assert (rf.size, rf.stride, rf.padding) == ((212, 212), (32, 32), (90, 90))
    r = cnnscope.analyze(g, ["rf"])
    assert r.totals["rf"]["size"] == [212, 212]
    assert r.totals["rf_reaches_input_at"] is None  # 212 < 224: no VGG-16 unit sees the whole input
    assert not r.warnings


def test_vgg16_pool5_measured() -> None:
    g = spec(vgg16_features(width_div=128), [1, 224, 224], "vgg16-narrow")  # geometry only: few channels
    check_measured(g, "pool5", (320, 320))


@pytest.mark.skipif(builtin_path("vgg16") is None, reason="specs/vgg16.yaml not there yet")
def test_vgg16_builtin_spec_matches_published() -> None:
    g = cnnscope.load("vgg16")
    fields = receptive_fields(g)
    pool5 = [n.name for n in g.nodes if n.type == "maxpool2d"][-1]
    assert (fields[pool5].size, fields[pool5].stride, fields[pool5].padding) == ((212, 212), (32, 32), (90, 90))


def _reference(shared: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((shared / "reference" / "receptive_fields.json").read_text())
    return data


def test_reference_derived_torchvision(shared: Path) -> None:
    ref = {r["network"]: r for r in _reference(shared) if r["kind"] == "derived"}
    r18 = receptive_fields(cnnscope.load("resnet18"))["layer4.1.relu2"]
    want = ref["torchvision resnet18"]
    assert (r18.size[0], r18.stride[0], r18.padding[0]) == (
        want["rf"],
        want["effective_stride"],
        want["effective_padding"],
    )
    vgg = ref["torchvision vgg16"]
    rf = receptive_fields(spec(vgg16_features(), [3, 224, 224]))["pool5"]
    assert (rf.size[0], rf.stride[0], rf.padding[0]) == (vgg["rf"], vgg["effective_stride"], vgg["effective_padding"])


# The small graphs of the google-research library's tests, in PyTorch terms (TF's VALID is
# padding 0; its SAME pads the extra pixel on the high side: an explicit zeropad here).
def _net1(l2_pad: list[int], pool: bool = False, size: int = 9) -> Graph:
    kind = {"type": "maxpool2d"} if pool else {"type": "conv2d", "out_channels": 1}
    return spec(
        [
            {"name": "L1", "type": "conv2d", "out_channels": 1, "kernel_size": 1, "stride": 4, "from": "input"},
            {"name": "pad", "type": "zeropad2d", "padding": l2_pad, "from": "input"},
            {"name": "L2", **kind, "kernel_size": 3, "stride": 2},
            {"name": "L3", **kind, "kernel_size": 1, "stride": 2},
            {"name": "add", "type": "add", "from": ["L1", "L3"]},
            {"name": "output", "type": "relu"},
        ],
        [1, size, size],
    )


def test_reference_network_1_and_2(shared: Path) -> None:
    ref = [r for r in _reference(shared) if r["network"].startswith(("test_network_1", "test_network_2"))]
    assert len(ref) == 2 and all((r["rf"], r["effective_stride"], r["effective_padding"]) == (3, 4, 1) for r in ref)
    for pool in (False, True):
        g = _net1([1, 0, 1, 0], pool, size=8)  # pad [1, 0]: one pixel before, none after
        rf = check_measured(g, spatial=(32, 32))  # the two paths' sizes match at multiples of 4
        assert (rf.size, rf.stride, rf.padding) == ((3, 3), (4, 4), (1, 1))
        assert not cnnscope.analyze(g, ["rf"]).warnings


def test_reference_network_4(shared: Path) -> None:
    ref = [r for r in _reference(shared) if r["network"] == "test_network_4"]
    ok = next(r for r in ref if r["input_size"] == 9)
    # SAME on 9: total padding 2, split 1 / 1: aligned
    g = _net1([1, 1, 1, 1], size=9)
    rf = receptive_fields(g)["output"]
    assert (rf.size[0], rf.stride[0], rf.padding[0]) == (ok["rf"], ok["effective_stride"], ok["effective_padding"])
    assert not cnnscope.analyze(g, ["rf"]).warnings
    check_measured(g)
    # SAME on 8: total padding 1, all of it after: the paths are misaligned -> a warning naming them
    assert any(r["input_size"] == 8 and r["rf"] is None for r in ref)
    r = cnnscope.analyze(_net1([0, 1, 0, 1], size=8), ["rf"])
    msgs = [w for w in r.warnings if w.kind == "rf-misaligned"]
    assert len(msgs) == 1 and msgs[0].layer == "add"
    assert "`L1`" in msgs[0].message and "`L3`" in msgs[0].message and "not aligned" in msgs[0].message


def test_reference_network_3_misaligned(shared: Path) -> None:
    assert any(r["network"].startswith("test_network_3") and r["rf"] is None for r in _reference(shared))
    g = spec(
        [
            {"name": "pad", "type": "zeropad2d", "padding": [2, 1, 2, 1], "from": "input"},
            {"name": "L1", "type": "conv2d", "out_channels": 1, "kernel_size": 5, "stride": 2},
            {"name": "L2", "type": "conv2d", "out_channels": 1, "kernel_size": 3, "from": "input"},
            {"name": "L3", "type": "conv2d", "out_channels": 1, "kernel_size": 3},
            {"name": "output", "type": "add", "from": ["L1", "L3"]},
        ],
        [1, 8, 8],
    )
    r = cnnscope.analyze(g, ["rf"])
    msgs = [w.message for w in r.warnings if w.kind == "rf-misaligned"]
    assert len(msgs) == 1 and "effective stride" in msgs[0] and "`L1` 2" in msgs[0] and "`L3` 1" in msgs[0]


def test_reference_network_5_asymmetric(shared: Path) -> None:
    ref = next(r for r in _reference(shared) if r["network"].startswith("test_network_5"))
    assert ref["rf"] == "x=5, y=7"
    g = spec(
        [
            {"name": "L1", "type": "conv2d", "out_channels": 1, "kernel_size": [3, 5], "stride": 2},  # TF [h, w]
            {"name": "L2", "type": "conv2d", "out_channels": 1, "kernel_size": [3, 1], "stride": 2},
        ],
        [1, 9, 9],
    )
    rf = check_measured(g)
    assert (rf.size, rf.stride, rf.padding) == ((7, 5), (4, 4), (0, 0))  # (H, W): y = 7, x = 5


def test_reference_network_8(shared: Path) -> None:
    ref = next(r for r in _reference(shared) if r["network"].startswith("test_network_8"))
    stage1 = _net1([1, 0, 1, 0], size=8).nodes
    g = spec(
        [
            *[
                {
                    "name": n.name,
                    **{"type": n.type},
                    **n.layer.config(),
                    "from": list(n.inputs) if len(n.inputs) > 1 else n.inputs[0],
                }
                for n in stage1
            ],
            {"name": "L4", "type": "conv2d", "out_channels": 1, "kernel_size": 1, "stride": 2, "from": "output"},
            {"name": "pad2", "type": "zeropad2d", "padding": [1, 0, 1, 0], "from": "output"},
            {"name": "L5", "type": "conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2},
            {"name": "out2", "type": "add", "from": ["L4", "L5"]},
        ],
        [1, 16, 16],
    )
    rf = check_measured(g, spatial=(64, 64))  # the paths' sizes match at multiples of 8
    assert (rf.size[0], rf.stride[0], rf.padding[0]) == (ref["rf"], ref["effective_stride"], ref["effective_padding"])


# -- built-in backbones ----------------------------------------------------------------


def test_resnet18_measured_at_a_few_layers() -> None:
    g = cnnscope.load("resnet18", (1, 224, 224))
    check_measured(g, "maxpool", (64, 64))
    check_measured(g, "layer1.1.relu2", (110, 110))
    check_measured(g, "layer2.1.relu2", (232, 232))


@pytest.mark.parametrize("name", ["googlenet", "mobilenet_v2", "squeezenet1_0"])
def test_other_builtin_backbones_early_layers(name: str) -> None:
    if builtin_path(name) is None:
        pytest.skip(f"specs/{name}.yaml not there yet")
    g = cnnscope.load(name)
    fields = receptive_fields(g)
    small = [n.name for n in g.nodes if fields[n.name].ok and max(fields[n.name].size) <= 40]
    merges = [n for n in small if len(g.node(n).inputs) > 1]
    check_measured(g, (merges or small)[-1])


# -- drawn stacks and branchy graphs ---------------------------------------------------


@st.composite
def stacks(draw: st.DrawFn) -> list[dict[str, Any]]:
    nd = draw(st.sampled_from([1, 2, 2, 3]))
    layers: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 4 if nd < 3 else 3))):
        kind = draw(st.sampled_from(["conv", "conv", "maxpool", "avgpool", "pad", "branch", "relu"]))
        k = [draw(st.integers(1, 4)) for _ in range(nd)]
        s = [draw(st.integers(1, 3)) for _ in range(nd)]
        if kind == "conv":
            d = [draw(st.integers(1, 3)) for _ in range(nd)]
            p = [draw(st.integers(0, 3)) for _ in range(nd)]
            layers.append(
                {
                    "name": f"l{i}",
                    "type": f"conv{nd}d",
                    "out_channels": 2,
                    "kernel_size": k,
                    "stride": s,
                    "dilation": d,
                    "padding": p,
                }
            )
        elif kind in ("maxpool", "avgpool"):
            p = [draw(st.integers(0, kk // 2)) for kk in k]
            layer = {
                "name": f"l{i}",
                "type": f"{kind}{nd}d",
                "kernel_size": k,
                "stride": s,
                "padding": p,
                "ceil_mode": draw(st.booleans()),
            }
            if kind == "maxpool" and draw(st.booleans()):
                layer["dilation"] = [draw(st.integers(1, 2)) for _ in range(nd)]
                layer["padding"] = [0] * nd
            layers.append(layer)
        elif kind == "pad":
            layers.append(
                {"name": f"l{i}", "type": f"zeropad{nd}d", "padding": [draw(st.integers(0, 3)) for _ in range(2 * nd)]}
            )
        elif kind == "relu":
            layers.append({"name": f"l{i}", "type": draw(st.sampled_from(["relu", "sigmoid", f"batchnorm{nd}d"]))})
        else:
            layers += branch(draw, nd, f"l{i}", layers[-1]["name"] if layers else "input")
    return [{"nd": nd}, *layers]


def branch(draw: st.DrawFn, nd: int, name: str, src: str) -> list[dict[str, Any]]:
    """Two paths with the same stride and output size: a conv with symmetric padding, and a
    zero-pad + conv with any split of the same total, so the centres may or may not align."""
    s = [draw(st.integers(1, 2)) for _ in range(nd)]
    ka = [draw(st.integers(1, 5)) for _ in range(nd)]
    pa = [draw(st.integers(0, 2)) for _ in range(nd)]
    kb = [draw(st.integers(1, 5)) for _ in range(nd)]
    db = [draw(st.integers(1, 2)) for _ in range(nd)]
    pads: list[int] = []
    for i in reversed(range(nd)):  # torch order: last dim first
        total = 2 * pa[i] - ka[i] + db[i] * (kb[i] - 1) + 1  # same output size as path a
        if total < 0:
            kb[i], db[i] = ka[i], 1
            total = 2 * pa[i]
        lo = draw(st.integers(0, total))
        pads += [lo, total - lo]
    merge = draw(st.sampled_from(["add", "concat"]))
    return [
        {
            "name": f"{name}a",
            "type": f"conv{nd}d",
            "out_channels": 2,
            "kernel_size": ka,
            "stride": s,
            "padding": pa,
            "from": src,
        },
        {"name": f"{name}p", "type": f"zeropad{nd}d", "padding": pads, "from": src},
        {"name": f"{name}b", "type": f"conv{nd}d", "out_channels": 2, "kernel_size": kb, "stride": s, "dilation": db},
        {"name": name, "type": merge, "from": [f"{name}a", f"{name}b"]},
    ]


@given(stacks())
def test_drawn_graphs_analytic_equals_measured(layers: list[dict[str, Any]]) -> None:
    nd = layers[0]["nd"]
    body = layers[1:]
    g0 = spec(body, [1, *([64] * nd)])  # sizes only to build; the measurement picks its own
    rf = receptive_fields(g0)[g0.output]
    spatial = tuple(2 * r + 4 * j + 2 * p + 8 for r, j, p in zip(rf.size, rf.stride, rf.padding, strict=True))
    g = spec(body, [1, *spatial])
    check_measured(g, spatial=spatial)
    warned = any(w.kind == "rf-misaligned" for w in cnnscope.analyze(g, ["rf"]).warnings)
    fields = receptive_fields(g)
    misaligned = any(
        len({tuple(2 * p - r for r, p in zip(fields[i].size, fields[i].padding, strict=True)) for i in n.inputs}) > 1
        for n in g.nodes
        if len(n.inputs) > 1
    )
    assert warned == misaligned


# -- special layers --------------------------------------------------------------------


def test_global_and_upsampling_are_said_plainly() -> None:
    g = spec(
        [
            {"name": "c", "type": "conv2d", "out_channels": 2, "kernel_size": 3},
            {"name": "up", "type": "upsample", "scale_factor": 2},
            {"name": "c2", "type": "conv2d", "out_channels": 2, "kernel_size": 3},
            {"name": "gap", "type": "adaptiveavgpool2d", "output_size": 1},
            {"name": "flat", "type": "flatten"},
            {"name": "fc", "type": "linear", "out_features": 3},
        ],
        [1, 16, 16],
    )
    r = cnnscope.analyze(g, ["rf"])
    assert r.row("c")["rf"]["size"] == [3, 3]
    assert r.row("up")["rf"]["status"] == "unsupported" and r.row("c2")["rf"]["size"] is None
    from cnnscope.render.units import rf as rf_text

    assert rf_text(r.row("c2")["rf"]) == "n/a (not a sliding window)" and "display" not in r.row("c2")["rf"]
    for n in ("gap", "flat", "fc"):
        assert r.row(n)["rf"]["whole_input"] is True and r.row(n)["rf"]["size"] is None
    assert r.totals["rf_reaches_input_at"] == "gap"


def test_global_layer_measured_sees_everything() -> None:
    from rf_oracle import measure_rf

    g = spec(
        [
            {"name": "c", "type": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 2},
            {"name": "gap", "type": "adaptivemaxpool2d", "output_size": 1},
            {"name": "flat", "type": "flatten"},
        ],
        [1, 15, 15],
    )
    assert receptive_fields(g)["flat"].whole_input
    assert measure_rf(g).whole_input


def test_coverage_and_1d() -> None:
    g = spec([{"name": "c", "type": "conv1d", "out_channels": 1, "kernel_size": 5, "dilation": 3}], [1, 20])
    r = cnnscope.analyze(g, ["rf"])
    assert r.row("c")["rf"]["size"] == [13] and r.row("c")["rf"]["coverage"] == [13 / 20]
    check_measured(g)


# -- the command -----------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    p = subprocess.run([sys.executable, "-m", "cnnscope", *args], capture_output=True, text=True, cwd=ROOT)
    return p.returncode, p.stdout, p.stderr


def test_cli_resnet18_table_json_without_torch() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from cnnscope.cli.main import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    rc = main(['rf', 'resnet18'])\n"
        "assert rc == 0, rc\n"
        "assert 'torch' not in sys.modules, 'rf imported torch'\n"
        "out = buf.getvalue()\n"
        "assert 'whole input' in out and '435×435' in out and 'receptive-field growth' in out, out\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    rc = main(['rf', 'resnet18', '--format', 'json'])\n"
        "import json\n"
        "d = json.loads(buf.getvalue())\n"
        "assert d['layers'][0]['rf']['size'] == [7, 7], d['layers'][0]\n"
        "assert d['totals']['rf']['whole_input'] is True\n"
        "assert 'torch' not in sys.modules\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_cli_formats(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    from cnnscope.cli.main import main

    assert main(["rf", "lenet5", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "whole input" in out


def test_cli_plot_needs_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cnnscope.cli.main import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["rf", "lenet5", "--plot", str(tmp_path / "rf.png")]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "cnnscope[plot]" in err and "Traceback" not in err
    assert not (tmp_path / "rf.png").exists()


def test_cli_plot_and_erf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from cnnscope.cli.main import main

    out_png = tmp_path / "rf.png"
    assert main(["rf", "cs231n-conv", "--erf", "--draws", "2", "--plot", str(out_png)]) == 0
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "effective receptive field" in out and "% of the gradient lies within" in out


def test_erf_concentrates_inside_theoretical_field() -> None:
    from cnnscope.profile.erf import effective_rf

    layers = [{"name": f"c{i}", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1} for i in range(6)]
    g = spec(layers, [1, 41, 41])
    e = effective_rf(g, draws=3)
    assert e.theoretical.size == (13, 13)
    assert e.inside_fraction == pytest.approx(1.0)  # the gradient never leaves the theoretical field
    assert 0 < e.radius <= 6 * 2**0.5  # and 95% of it sits within the field's half-size (Luo et al.)


def test_cli_erf_bad_layer(capsys: pytest.CaptureFixture[str]) -> None:
    from cnnscope.cli.main import main

    assert main(["rf", "lenet5", "--erf", "--layer", "fc3"]) == 2
    assert "error[" in capsys.readouterr().err


def test_a_broadcast_gate_that_is_not_global_has_no_sliding_window_field() -> None:
    # `g` reduces 16×16 to 1×1 with a 16×16 convolution; `mul` spreads that single unit over
    # all 16×16 positions of `a`: every output unit sees the same fixed 16×16 window plus its
    # own 3×3 one, which no (size, stride, padding) triple describes. An SE gate made by
    # global pooling stays "whole input" (regnet_y_400mf).
    import cnnscope

    spec = """
input: [4, 16, 16]
layers:
  - {name: a, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: g, type: conv2d, out_channels: 4, kernel_size: 16, from: input}
  - {name: m, type: mul, from: [a, g]}
"""
    r = cnnscope.analyze(cnnscope.load_spec(spec), ["rf"])
    assert r.row("g")["rf"]["size"] == [16, 16]
    assert r.row("m")["rf"]["status"] == "unsupported"
    assert not any(w.kind == "rf-misaligned" for w in r.warnings)
    se = cnnscope.analyze(cnnscope.load("regnet_y_400mf"), ["rf"])
    assert se.totals["rf"]["whole_input"] is True
