"""`shift`: the analytic shift lattice against hand arithmetic, and against torch (real forward passes).

The oracle for the lattice is measurement: for drawn stacks and branchy graphs, the smallest
shift at which the measured error vanishes must be the analytic lattice, and every shift off
the lattice must show an error. Known-answer networks pin the rest: circular stride-1 stacks
are exactly equivariant, one stride 2 gives a lattice of 2, a blur before the stride lowers the
error, and global average pooling after circular stride-1 layers is exactly invariant.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnscope
from cnnscope.analyze.shift import ALIASING, ANTI_ALIASED, BOX_FILTERED, shift_infos, summarize
from cnnscope.cli.main import main
from cnnscope.errors import UsageError
from cnnscope.graph import Graph

torch = pytest.importorskip("torch")

from cnnscope.profile.shift import LayerShift, measure_shifts  # noqa: E402

EXACT = 1e-5  # float32 round-off through a few layers
CLEAR = 1e-2  # an aliasing error is far above this (white-noise inputs)


def net(layers: list[dict[str, Any]], input: tuple[int, ...] = (3, 16, 16), output: str | None = None) -> Graph:
    doc: dict[str, Any] = {"input": list(input), "layers": layers}
    if output:
        doc["output"] = output
    return cnnscope.load_spec(json.dumps(doc))


def conv(
    name: str, stride: int = 1, k: int = 3, mode: str = "circular", ch: int = 6, src: str | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "conv2d",
        "out_channels": ch,
        "kernel_size": k,
        "stride": stride,
        "padding": (k - 1) // 2,
        "padding_mode": mode,
        **({"from": src} if src else {}),
    }


def curve(layer: LayerShift, fill: str = "circular", region: str = "whole") -> dict[int, float]:
    return {s: v.mean for s, v in layer.curve(fill, region).items() if v is not None}


# -- analytic: hand arithmetic ------------------------------------------------------------


def test_stride_one_circular_stack_has_lattice_one() -> None:
    g = net([conv("c1"), {"name": "t", "type": "tanh"}, conv("c2", k=5)])
    infos = shift_infos(g)
    for name in ("c1", "t", "c2"):
        assert infos[name].lattice == (1, 1) and infos[name].status == "equivariant"
        assert infos[name].aliasing is None and not infos[name].leaks  # circular padding tells nothing
    assert infos["c2"].sentence() == "equivariant to shifts of 1 pixel"


def test_one_stride_two_sets_the_lattice() -> None:
    g = net([conv("c1"), {"name": "r", "type": "relu"}, conv("down", stride=2), conv("c3", mode="zeros")])
    infos = shift_infos(g)
    assert infos["c1"].lattice == (1, 1)
    assert infos["down"].lattice == (2, 2) and infos["down"].aliasing == ALIASING  # 1·2; nothing filters first
    assert infos["c3"].lattice == (2, 2) and infos["c3"].leaks and infos["c3"].fill == "zeros"
    assert infos["c3"].set_by == ("down",)
    assert summarize(g, infos).set_by == ("down",)


def test_low_pass_before_the_stride() -> None:
    blur = {"name": "blur", "type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1}
    g = net(
        [
            conv("c1"),
            {"name": "r", "type": "relu"},
            blur,
            {"name": "bn", "type": "batchnorm2d"},  # per position: the low-pass survives it
            {"name": "mix", "type": "conv2d", "out_channels": 6, "kernel_size": 1},  # and a 1×1 conv
            conv("down", stride=2),
            conv("c3"),
            conv("down2", stride=2),  # a 3×3 conv between: no longer filtered
            {"name": "box", "type": "avgpool2d", "kernel_size": 2},  # k 2 ≥ stride 2: filters as it subsamples
            {"name": "skip", "type": "avgpool2d", "kernel_size": 1, "stride": 2},  # k 1 < stride 2: no filter
        ],
        input=(3, 32, 32),
    )
    infos = shift_infos(g)
    assert infos["down"].aliasing == ANTI_ALIASED
    assert infos["down2"].aliasing == ALIASING
    assert infos["box"].aliasing == BOX_FILTERED
    assert infos["skip"].aliasing == ALIASING
    assert infos["skip"].lattice == (16, 16)  # 2·2·2·2
    assert infos["blur"].leaks and infos["blur"].fill == "zeros"  # avg pooling pads with zeros


def test_global_pooling_is_invariant_flatten_linear_is_not() -> None:
    gap = net(
        [
            conv("c1", stride=2),
            {"name": "gap", "type": "adaptiveavgpool2d", "output_size": 1},
            {"name": "flat", "type": "flatten"},
            {"name": "fc", "type": "linear", "out_features": 5},
        ]
    )
    infos = shift_infos(gap)
    assert infos["gap"].status == "invariant" and infos["gap"].becomes == "invariant"
    assert infos["fc"].status == "invariant" and infos["fc"].lattice == (2, 2)  # computed from invariant features
    assert infos["fc"].sentence() == "invariant to shifts of 2 pixels"
    flat = net(
        [conv("c1", stride=2), {"name": "flat", "type": "flatten"}, {"name": "fc", "type": "linear", "out_features": 5}]
    )
    infos = shift_infos(flat)
    assert infos["flat"].status == "positional" and infos["fc"].status == "positional"
    assert infos["fc"].lattice is None


def test_resnet18_lattice_by_hand() -> None:
    g = cnnscope.load("resnet18")
    infos = shift_infos(g)
    s = summarize(g, infos)
    # conv1 /2, maxpool /2, then the first block of layer2, layer3 and layer4 /2 each: 2⁵ = 32
    assert infos["fc"].lattice == (32, 32) and infos["fc"].status == "invariant"
    assert infos["layer1.1.relu2"].lattice == (4, 4)  # 2·2
    assert infos["layer3.1.relu2"].lattice == (16, 16)  # 2·2·2·2
    assert s.invariant_at == "avgpool"
    assert set(s.set_by) == {
        "conv1",
        "maxpool",
        *(f"layer{i}.0.{n}" for i in (2, 3, 4) for n in ("conv1", "downsample.0")),
    }
    assert set(s.aliasing) == set(s.set_by)  # none is anti-aliased
    assert s.anti_aliased == ()


def test_merges_intersect_lattices() -> None:
    # a residual stage: the main path and the projection both stride 2 → lattice 2 after the add
    g = net(
        [
            conv("c1"),
            conv("a", stride=2, ch=6),
            {"name": "b", "type": "conv2d", "out_channels": 6, "kernel_size": 1, "stride": 2, "from": "c1"},
            {"name": "add", "type": "add", "from": ["a", "b"]},
            # squeeze-excitation: a global gate (invariant to shifts of 2) times the map (equivariant)
            {"name": "sq", "type": "adaptiveavgpool2d", "output_size": 1},
            {"name": "ex", "type": "conv2d", "out_channels": 6, "kernel_size": 1},
            {"name": "gate", "type": "sigmoid"},
            {"name": "se", "type": "mul", "from": ["add", "gate"]},
        ]
    )
    infos = shift_infos(g)
    assert infos["add"].lattice == (2, 2) and infos["add"].set_by == ("a", "b")
    assert infos["gate"].status == "invariant"
    assert infos["se"].status == "equivariant" and infos["se"].lattice == (2, 2)


def test_misaligned_merge_and_upsampling_are_not_guessed() -> None:
    g = net(
        [
            {"name": "a", "type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 2},  # 8 → 4, stride 2
            {"name": "b", "type": "conv2d", "out_channels": 4, "kernel_size": 5, "from": "input"},  # 8 → 4, stride 1
            {"name": "cat", "type": "concat", "from": ["a", "b"]},
            {"name": "up", "type": "upsample", "scale_factor": 2, "from": "a"},
            {"name": "tr", "type": "convtranspose2d", "out_channels": 4, "kernel_size": 2, "stride": 2, "from": "a"},
        ],
        input=(3, 8, 8),
        output="cat",
    )
    infos = shift_infos(g)
    assert infos["cat"].status == "misaligned" and infos["cat"].lattice is None and infos["cat"].warnings
    assert infos["up"].status == "n/a" and infos["tr"].status == "n/a"


def test_explain_gains_the_shift_line() -> None:
    from cnnscope.learn.explain import explain

    by = {e.name: {s.what: s for s in e.steps} for e in explain(cnnscope.load("lenet5"))}
    assert by["conv1"]["shifts"].result == "equivariant to shifts of 1 pixel"
    assert by["pool1"]["shifts"].result == "equivariant to shifts of 2 pixels"  # maxpool stride 2
    assert by["pool2"]["shifts"].result == "equivariant to shifts of 4 pixels"  # 2·2
    assert "no low-pass" in by["pool1"]["shifts"].formula
    assert by["fc1"]["shifts"].result.startswith("not invariant")


def test_lint_flags_aliasing_before_global_pooling() -> None:
    from cnnscope.learn.lint import Selection, lint

    sel = [Selection(select=("aliased-downsampling",))]
    (f,) = lint(cnnscope.load("resnet18"), selections=sel)
    assert f.subject == "conv1" and "7 more" in f.message and "32 pixels" in f.message  # 8 strided layers, 2⁵
    assert f.severity == "info" and "blur" in f.fix
    assert lint(cnnscope.load("lenet5"), selections=sel) == []  # a flatten head claims no invariance


# -- the CLI and its errors --------------------------------------------------------------


def _write(tmp_path: Path, doc: dict[str, Any]) -> str:
    p = tmp_path / "net.yaml"
    p.write_text(json.dumps(doc))
    return str(p)


def test_no_spatial_dims_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, {"input": [3], "layers": [{"type": "linear", "out_features": 4}]})
    assert main(["shift", path]) == 2
    err = capsys.readouterr().err
    assert "error[no-spatial-dims]" in err and "Traceback" not in err


def test_shift_beyond_the_input_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    path = "cs231n-conv"  # 32×32: shifts 1 … 31
    assert main(["shift", path, "--empirical", "--shifts", "32"]) == 2
    err = capsys.readouterr().err
    assert "error[shift-too-large]" in err and "at most 31" in err and "Traceback" not in err
    with pytest.raises(UsageError, match="at most 31"):
        measure_shifts(cnnscope.load(path), [40])


@pytest.mark.parametrize(
    "argv",
    [
        ["--plot", "x.png"],  # --plot, --shifts, --along only with --empirical
        ["--shifts", "1,2"],
        ["--along", "H"],
        ["--empirical", "--along", "Q"],
        ["--empirical", "--shifts", "a"],
        ["--empirical", "--fill", "mirror"],
        ["--empirical", "--inputs", "0"],
    ],
)
def test_bad_options_are_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shift", "lenet5", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[") and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_cli_formats(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shift", "resnet18", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        doc = json.loads(out)
        assert doc["totals"]["shift"]["output"]["lattice"] == [32, 32]
        assert doc["layers"][0]["shift"]["aliasing"] == "aliasing"  # conv1, stride 2
    else:
        assert "conv1" in out


def test_cli_empirical_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layers = [
        conv("c1", stride=2),
        {"name": "gap", "type": "adaptiveavgpool2d", "output_size": 1},
        {"name": "flat", "type": "flatten"},
        {"name": "fc", "type": "linear", "out_features": 4},
    ]
    path = _write(tmp_path, {"input": [3, 8, 8], "layers": layers})
    argv = ["shift", path, "--empirical", "--inputs", "2", "--seeds", "1", "-f", "json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    by = {r["name"]: r for r in doc["layers"]}
    assert by["c1"]["shift_measured"]["measured_lattice"] == 2 == by["c1"]["shift"]["lattice"][0]
    assert doc["shift_empirical"]["shifts"] == [1, 2]  # every shift up to the largest lattice
    cons = doc["shift_empirical"]["consistency"]
    assert cons["shift_range"] == [0, 1]  # random shifts below the output's lattice, 2
    assert 0.0 <= cons["circular"]["consistency"]["mean"] <= 1.0 and cons["zeros"]["mean_tv_distance"]["mean"] >= 0
    assert main([*argv[:-2], "-f", "table"]) == 0
    assert "equivariance error against depth" in capsys.readouterr().out


def test_analytic_path_does_not_import_torch() -> None:
    script = (
        "import sys\n"
        "from cnnscope.cli.main import main\n"
        "runs = (['shift', 'resnet18', '-f', 'json'], ['explain', 'lenet5', '-f', 'json'], ['lint', 'resnet18'])\n"
        "for argv in runs:\n"
        "    assert main(argv) == 0, argv\n"
        "leaked = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not leaked, leaked[:5]\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


# -- empirical: known answers, torch as the oracle -----------------------------------------


def test_circular_stride_one_stack_is_exactly_equivariant() -> None:
    g = net([conv("c1"), {"name": "t", "type": "tanh"}, conv("c2", k=5), {"name": "r", "type": "relu"}])
    m = measure_shifts(g, [1, 2, 3, 5], inputs=2, seeds=2)
    for name in ("c1", "t", "c2", "r"):
        errs = curve(m.layers[name])
        assert max(errs.values()) <= EXACT, (name, errs)  # the whole map, on the torus
        assert max(curve(m.layers[name], region="interior").values()) <= EXACT
        assert m.layers[name].vanishes_at("circular", "whole", m.tol) == 1


def test_one_stride_two_layer_is_equivariant_to_two_not_one() -> None:
    g = net([conv("c1"), {"name": "r", "type": "relu"}, conv("down", stride=2)])
    m = measure_shifts(g, [1, 2, 3, 4], inputs=2, seeds=2)
    errs = curve(m.layers["down"])
    assert errs[2] <= EXACT and errs[4] <= EXACT  # circular padding, 16 divisible by 2: exact on the torus
    assert errs[1] > CLEAR and errs[3] > CLEAR  # odd shifts alias
    assert m.layers["c1"].vanishes_at("circular", "whole", m.tol) == 1


def test_zero_padding_leaks_on_the_torus_not_in_the_interior() -> None:
    g = net(
        [conv("c1", mode="zeros"), {"name": "r", "type": "relu"}, conv("down", stride=2, mode="zeros")],
        input=(3, 24, 24),
    )
    m = measure_shifts(g, [1, 2], inputs=2, seeds=1)
    layer = m.layers["down"]
    assert curve(layer, region="interior")[2] <= EXACT  # away from the border: only aliasing, and s = 2 has none
    assert curve(layer)[2] > 1e-3  # the whole map: the zero border moved with the shift
    assert curve(layer, region="interior")[1] > CLEAR


def test_interior_is_the_same_for_both_fills() -> None:
    g = net(
        [conv("c1", mode="zeros"), {"name": "r", "type": "relu"}, {"name": "p", "type": "maxpool2d", "kernel_size": 2}]
    )
    m = measure_shifts(g, [1, 2, 3], inputs=2, seeds=1)
    for name in ("c1", "p"):
        a, b = curve(m.layers[name], "circular", "interior"), curve(m.layers[name], "zeros", "interior")
        assert a.keys() == b.keys() and all(abs(a[s] - b[s]) <= 1e-6 for s in a)


def test_blur_before_the_stride_lowers_the_error() -> None:
    blur = {"name": "blur", "type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1}
    plain = net([conv("c1"), {"name": "r", "type": "relu"}, conv("down", stride=2)], input=(3, 32, 32))
    blurred = net([conv("c1"), {"name": "r", "type": "relu"}, blur, conv("down", stride=2)], input=(3, 32, 32))
    assert shift_infos(plain)["down"].aliasing == ALIASING
    assert shift_infos(blurred)["down"].aliasing == ANTI_ALIASED
    a = curve(measure_shifts(plain, [1, 3], inputs=4, seeds=2).layers["down"], region="interior")
    b = curve(measure_shifts(blurred, [1, 3], inputs=4, seeds=2).layers["down"], region="interior")
    assert b[1] < 0.7 * a[1] and b[3] < 0.7 * a[3], (a, b)


def test_global_average_pooling_after_circular_stride_one_is_exactly_invariant() -> None:
    head: list[dict[str, Any]] = [
        {"name": "gap", "type": "adaptiveavgpool2d", "output_size": 1},
        {"name": "flat", "type": "flatten"},
        {"name": "fc", "type": "linear", "out_features": 5},
    ]
    g = net([conv("c1"), {"name": "r", "type": "relu"}, conv("c2"), *head])
    m = measure_shifts(g, [1, 2, 3, 7], inputs=3, seeds=2, fills=("circular",))
    for name in ("gap", "fc"):
        assert max(curve(m.layers[name]).values()) <= EXACT, name
    assert m.consistency is not None
    assert m.consistency["circular"]["consistency"]["mean"] == 1.0  # same argmax under every circular shift
    assert m.consistency["circular"]["mean_tv_distance"]["mean"] <= 1e-6
    zero_padded = net([conv("c1", mode="zeros"), {"name": "r", "type": "relu"}, conv("c2", mode="zeros"), *head])
    m = measure_shifts(zero_padded, [1, 2], inputs=3, seeds=1, fills=("circular",))
    assert min(curve(m.layers["gap"]).values()) > 1e-4  # the zero border tells where the image was


def test_flatten_into_linear_is_not_invariant() -> None:
    g = net(
        [conv("c1"), {"name": "flat", "type": "flatten"}, {"name": "fc", "type": "linear", "out_features": 5}],
        input=(3, 8, 8),
    )
    m = measure_shifts(g, [1, 2], inputs=2, seeds=1, fills=("circular",))
    assert min(curve(m.layers["fc"]).values()) > CLEAR


def test_along_one_dim_uses_that_dims_lattice() -> None:
    g = net(
        [
            {
                "name": "c",
                "type": "conv2d",
                "out_channels": 4,
                "kernel_size": 3,
                "padding": 1,
                "padding_mode": "circular",
                "stride": [1, 2],
            }
        ]
    )
    assert shift_infos(g)["c"].lattice == (1, 2)  # H stride 1, W stride 2
    h = measure_shifts(g, [1, 2], along="H", inputs=2, seeds=1, fills=("circular",))
    w = measure_shifts(g, [1, 2], along="W", inputs=2, seeds=1, fills=("circular",))
    assert h.layers["c"].vanishes_at("circular", "whole", h.tol) == 1
    assert w.layers["c"].vanishes_at("circular", "whole", w.tol) == 2


def test_module_source_and_opaque_ops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "shiftnet.py").write_text(
        "import torch\n"
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, padding_mode='circular')\n"
        "        self.pool = nn.AdaptiveAvgPool2d(1)\n"
        "    def forward(self, x):\n"
        "        return self.pool(self.conv(x)).flatten(1)\n"
        "class Odd(Net):\n"
        "    def forward(self, x):\n"
        "        return torch.special.erfcx(self.conv(x)).sum((2, 3))\n"
    )
    src = str(tmp_path / "shiftnet.py")
    assert (
        main(["shift", f"{src}:Net", "--input", "3,8,8", "--empirical", "--inputs", "2", "--seeds", "1", "-f", "json"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    conv_row = next(r for r in doc["layers"] if r["type"] == "conv2d")
    assert conv_row["shift"]["lattice"] == [2, 2] and conv_row["shift_measured"]["measured_lattice"] == 2
    g = cnnscope.load(f"{src}:Odd", (3, 8, 8))
    assert any(n.layer.opaque for n in g.nodes)  # erfcx has no layer type
    assert main(["shift", f"{src}:Odd", "--input", "3,8,8", "--empirical"]) == 2
    assert "only the analytic mode applies" in capsys.readouterr().err
    assert main(["shift", f"{src}:Odd", "--input", "3,8,8"]) == 0
    # `.sum((2, 3))` is a global reduction over space: it treats positions alike, as a pooling does
    assert shift_infos(g)[g.output].status == "n/a"  # but the opaque erfcx before it leaves it unknown


# -- the lattice is the smallest shift whose error vanishes: drawn networks -----------------


@st.composite
def stages(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, str]:
    """A drawn network of stride-1/2/3 stages (single layers and two-branch merges) and its stride."""
    mode = draw(st.sampled_from(["circular", "zeros"]))
    layers: list[dict[str, Any]] = [conv("stem", k=draw(st.sampled_from([1, 3])), mode=mode, ch=4)]
    prev, total = "stem", 1
    for i in range(draw(st.integers(1, 3))):
        s = draw(st.sampled_from([1, 2, 2, 3]))
        if total * s > 12:
            s = 1
        kind = draw(st.sampled_from(["conv", "maxpool", "avgpool", "branch", "act"]))
        name = f"l{i}"
        if kind == "conv" or (kind in ("maxpool", "avgpool") and s == 1):
            layers.append(conv(name, stride=s, k=draw(st.sampled_from([1, 3, 5])), mode=mode, ch=4, src=prev))
        elif kind in ("maxpool", "avgpool"):
            layers.append({"name": name, "type": f"{kind}2d", "kernel_size": s, "from": prev})  # windows tile
        elif kind == "act":
            layers.append({"name": name, "type": draw(st.sampled_from(["tanh", "gelu", "batchnorm2d"])), "from": prev})
            s = 1
        else:
            a = conv(f"{name}_a", stride=s, k=3, mode=mode, ch=4, src=prev)
            pool = {"name": f"{name}_p", "type": "avgpool2d", "kernel_size": s, "from": prev} if s > 1 else None
            b = conv(f"{name}_b", k=1, mode=mode, ch=4, src=f"{name}_p" if pool else prev)
            merge = draw(st.sampled_from(["add", "concat"]))
            layers += [
                a,
                *([pool] if pool else []),
                b,
                {"name": name, "type": merge, "from": [f"{name}_a", f"{name}_b"]},
            ]
        prev = name
        total *= s
    return layers, total, mode


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stages(), st.integers(2, 3))
def test_lattice_is_the_smallest_vanishing_shift(drawn: tuple[list[dict[str, Any]], int, str], m: int) -> None:
    layers, total, mode = drawn
    size = total * m * (2 if mode == "zeros" else 1) + (8 if mode == "zeros" else 0)  # room for an interior
    size += (-size) % total  # a multiple of the stride: the windows tile the torus
    g = net(layers, input=(2, size, size))
    infos = shift_infos(g)
    assert infos[g.output].lattice == (total, total)  # the product of the drawn strides
    shifts = list(range(1, min(2 * total, size - 1) + 1))
    meas = measure_shifts(g, shifts, inputs=2, seeds=1, fills=("circular",))
    checked = 0
    for node in g.nodes:
        lat = infos[node.name].lattice
        assert lat is not None and lat[0] == lat[1]
        region = "whole" if mode == "circular" else "interior"
        errs = curve(meas.layers[node.name], region=region)
        if mode == "zeros" and set(errs) != set(shifts):
            continue  # the receptive field is too large for an interior at some shift
        on = [e for s, e in errs.items() if s % lat[0] == 0]
        off = [e for s, e in errs.items() if s % lat[0]]
        assert all(e <= EXACT for e in on), (node.name, lat, errs)
        assert all(e > 1e-4 for e in off), (node.name, lat, errs)
        assert meas.layers[node.name].vanishes_at("circular", region, 1e-4) == lat[0]
        checked += 1
    assert checked >= 1  # the stem (a small window, 2·stride + 8 pixels of room) always has an interior


# -- the layer facts the analysis reads, held against torch ----------------------------------


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_border_fill_is_torchs_padding_mode(mode: str) -> None:
    g = net([conv("c", mode=mode)])
    layer = g.node("c").layer
    module = layer.to_torch([(1, 3, 16, 16)])
    assert layer.border_fill() == module.padding_mode == mode


@pytest.mark.parametrize(
    ("entry", "lowpass"),
    [
        ({"type": "avgpool2d", "kernel_size": 3, "stride": 1, "padding": 1}, True),
        ({"type": "avgpool2d", "kernel_size": 2}, True),
        ({"type": "avgpool1d", "kernel_size": 3, "stride": 1}, True),
        ({"type": "avgpool2d", "kernel_size": 1}, False),
        ({"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1}, False),
    ],
)
def test_lowpass_attenuates_the_highest_frequency(entry: dict[str, Any], lowpass: bool) -> None:
    # the torch module's response to the alternating ±1 signal (the Nyquist frequency) against
    # its response to a constant: a low-pass filter passes the constant and damps the alternation
    rank = 1 if entry["type"].endswith("1d") else 2
    g = net([{"name": "p", **entry}], input=(1, *([12] * rank)))
    layer = g.node("p").layer
    assert layer.lowpass() is lowpass
    module = layer.to_torch([(1, 1, *([12] * rank))])
    idx = torch.arange(12)
    alt = (-1.0) ** (idx if rank == 1 else idx[:, None] + idx[None, :])
    gain = float(module(alt[None, None].float()).abs().mean())
    dc = float(module(torch.ones(1, 1, *([12] * rank))).abs().mean())
    assert (gain < 0.5 * dc) is lowpass, (gain, dc)


def test_padding_layers_declare_their_fill() -> None:
    for kind, fill in (("zeropad2d", "zeros"), ("reflectionpad2d", "reflect"), ("replicationpad2d", "replicate")):
        g = net([{"name": "p", "type": kind, "padding": 1}])
        assert g.node("p").layer.border_fill() == fill
        assert shift_infos(g)["p"].leaks


def test_plot_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    path = _write(tmp_path, {"input": [3, 8, 8], "layers": [conv("c1", stride=2), conv("c2")]})
    out = tmp_path / "shift.png"
    assert main(["shift", path, "--empirical", "--inputs", "2", "--seeds", "1", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().err
