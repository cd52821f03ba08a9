"""The built-in zoo: every spec in specs/ against its published figures.

Parametrized over ``specs/*.yaml`` at collection time, so a new spec is tested the moment
it is added, and a spec with no expected figures here or in the reference json fails.

Oracles: torchvision's published ``num_params`` and ``GFLOPS`` (one multiply-add counted
once, conv/linear/matmul only) from ../shared/reference/torchvision_models.json; hand
arithmetic for the specs torchvision does not have; torchvision's own modules (when it is
installed) for per-layer output shapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import cnnscope
from cnnscope.analyze.shapes import infer_shapes

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
REFERENCE = ROOT.parent / "shared" / "reference" / "torchvision_models.json"


def _torchvision_reference() -> dict[str, dict]:
    if not REFERENCE.is_file():
        return {}
    out: dict[str, dict] = {}
    for m in json.loads(REFERENCE.read_text()):
        if m.get("is_default"):
            out[m["model"]] = {"params": m["num_params"], "gflops": m["gflops"], "crop": m["eval_crop_size"]}
    return out


# Specs torchvision has no builder for: figures worked out by hand (no bias in MACs).
_LENET5_PARAMS = (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16 + (400 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10
_LENET5_MACS = 28 * 28 * 6 * (5 * 5 * 1) + 10 * 10 * 16 * (5 * 5 * 6) + 400 * 120 + 120 * 84 + 84 * 10
# CS231n: conv 32×32×10 from 5×5×3 filters, pool to 16×16×10, fc to 10
_CS231N_CONV_PARAMS = (5 * 5 * 3 + 1) * 10 + (16 * 16 * 10 + 1) * 10
_CS231N_CONV_MACS = 32 * 32 * 10 * (5 * 5 * 3) + 16 * 16 * 10 * 10
# CS231n stride: one 3×3 filter on 7×7 at strides 1, 2, 3 → 5×5, 3×3, 2×2 outputs
_CS231N_STRIDE_PARAMS = 3 * (3 * 3 + 1)
_CS231N_STRIDE_MACS = (5 * 5 + 3 * 3 + 2 * 2) * 3 * 3
# AlexNet at 227 (CS231n): conv 55²·96 (11²·3), 27²·256 (5²·96), 13²·384 (3²·256),
# 13²·384 (3²·384), 13²·256 (3²·384); fc 9216→4096→4096→1000
_ALEXNET227_PARAMS = (
    (11 * 11 * 3 + 1) * 96
    + (5 * 5 * 96 + 1) * 256
    + (3 * 3 * 256 + 1) * 384
    + (3 * 3 * 384 + 1) * 384
    + (3 * 3 * 384 + 1) * 256
    + (9216 + 1) * 4096
    + (4096 + 1) * 4096
    + (4096 + 1) * 1000
)
_ALEXNET227_MACS = (
    55 * 55 * 96 * 11 * 11 * 3
    + 27 * 27 * 256 * 5 * 5 * 96
    + 13 * 13 * 384 * 3 * 3 * 256
    + 13 * 13 * 384 * 3 * 3 * 384
    + 13 * 13 * 256 * 3 * 3 * 384
    + 9216 * 4096
    + 4096 * 4096
    + 4096 * 1000
)

BY_HAND: dict[str, dict] = {
    "lenet5": {"params": _LENET5_PARAMS, "macs": _LENET5_MACS, "input": (1, 32, 32)},
    "cs231n-conv": {"params": _CS231N_CONV_PARAMS, "macs": _CS231N_CONV_MACS, "input": (3, 32, 32)},
    "cs231n-stride": {"params": _CS231N_STRIDE_PARAMS, "macs": _CS231N_STRIDE_MACS, "input": (1, 7, 7)},
    "alexnet-227": {"params": _ALEXNET227_PARAMS, "macs": _ALEXNET227_MACS, "input": (3, 227, 227)},
}

# spec layer name -> torchvision module name, where the spec cannot spell torchvision's
# every spec uses torchvision's own module names (RegNet's `block2-1` through a templated name)
RENAMES: dict[str, list[tuple[str, str]]] = {}
# torchvision's ConvNeXt block runs its layer norm and its two Linear layers on a
# channels-last tensor (between two Permutes); the spec uses layernorm2d and 1×1 convolutions
# on channels-first maps: same parameters and MACs, outputs permuted, weights [o, i] vs [o, i, 1, 1]
CHANNELS_LAST: dict[str, str] = {"convnext_tiny": r"\.block\.[2-5]$"}
CPU_BUILD = {"regnet_y_400mf"}  # its builder computes widths with tensors: not on meta
TV_KWARGS: dict[str, dict] = {"googlenet": {"aux_logits": False, "init_weights": False}}


def test_hand_figures_are_the_published_ones() -> None:
    assert _LENET5_PARAMS == 61_706  # the LeNet-5 figure the issue quotes
    assert _ALEXNET227_PARAMS == 62_378_344  # CS231n's "~60M", the 62.3 M usually quoted
    assert (227 - 11) // 4 + 1 == 55


def _macs(graph) -> int:
    shapes = infer_shapes(graph)
    return sum(n.layer.macs([shapes[i] for i in n.inputs], shapes[n.name]) for n in graph.nodes)


def _params(graph) -> int:
    return cnnscope.analyze(graph, ["params"]).totals["params"]


@pytest.mark.parametrize("name", SPECS)
def test_spec_matches_published_figures(name: str) -> None:
    tv = _torchvision_reference()
    graph = cnnscope.load(name)
    if name in BY_HAND:
        exp = BY_HAND[name]
        assert graph.input_shape == exp["input"]
        assert _params(graph) == exp["params"]
        assert _macs(graph) == exp["macs"]
        return
    if not tv:
        pytest.skip("../shared/reference/torchvision_models.json is not beside the checkout")
    assert name in tv, f"spec `{name}` has no expected figures: add them to BY_HAND or name it as torchvision does"
    exp = tv[name]
    assert graph.input_shape == (3, exp["crop"], exp["crop"])
    assert _params(graph) == exp["params"]
    # torchvision prints GFLOPS with 3 decimals (15.47 is 15.470)
    assert round(_macs(graph) / 1e9, 3) == exp["gflops"]


@pytest.mark.parametrize("name", SPECS)
def test_spec_has_a_header_naming_its_source(name: str) -> None:
    text = (ROOT / "specs" / f"{name}.yaml").read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines()[:12] if line.startswith("#"))
    assert header, f"{name}.yaml starts with no comment"
    assert "Expected" in header, f"{name}.yaml's header gives no expected figures"


def test_resnet152_is_not_much_longer_than_resnet50() -> None:
    n50 = len((ROOT / "specs" / "resnet50.yaml").read_text().splitlines())
    n152 = len((ROOT / "specs" / "resnet152.yaml").read_text().splitlines())
    assert n152 <= n50 + 2


def test_alexnet_227_conv1_is_55x55x96() -> None:
    r = cnnscope.analyze(cnnscope.load("alexnet-227"), ["params"])
    assert r.row("conv1")["output_shape"] == [1, 96, 55, 55]
    assert r.row("conv1")["params"] == (11 * 11 * 3 + 1) * 96 == 34_944


def test_cs231n_stride_output_sizes() -> None:
    # (W - F + 2P)/S + 1 with W=7, F=3, P=0: 5, 3, and 2.33 floored to 2 (it does not fit)
    r = cnnscope.analyze(cnnscope.load("cs231n-stride"), ["shapes"])
    assert r.row("stride1")["output_shape"] == [1, 1, 5, 5]
    assert r.row("stride2")["output_shape"] == [1, 1, 3, 3]
    assert r.row("stride3")["output_shape"] == [1, 1, 2, 2]
    assert any(w.layer == "stride3" for w in r.warnings)
    assert not any(w.layer in ("stride1", "stride2") for w in r.warnings)


def test_vgg16_receptive_field_is_the_published_one() -> None:
    # Araujo, Norris & Sim, "Computing Receptive Fields of CNNs" (Distill, 2019), Table 1:
    # VGG-16 at pool5: size 212, effective stride 32, effective padding 90
    from cnnscope.analyze.rf import receptive_fields

    f = receptive_fields(cnnscope.load("vgg16"))["features.30"].to_json((224, 224))
    assert (f["size"], f["stride"], f["padding"]) == ([212, 212], [32, 32], [90, 90])


def test_zoo_command_lists_every_spec(capsys: pytest.CaptureFixture[str]) -> None:
    from cnnscope.cli.main import main

    assert main(["zoo", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["specs"]}
    assert sorted(rows) == SPECS
    assert rows["resnet18"]["params"] == 11_689_512  # torchvision's published count
    assert rows["vgg16"]["rf"]["size"] == [212, 212]  # Distill's VGG-16 figure
    for fmt in ("table", "csv", "markdown"):
        assert main(["zoo", "--format", fmt]) == 0
        assert "mobilenet_v2" in capsys.readouterr().out
    assert main(["zoo", "--format", "yaml"]) == 2


# -- per-layer shapes against torchvision (skipped without it) ---------------------------


def _tv_names() -> list[str]:
    return [n for n in SPECS if n not in BY_HAND]


def _output_shapes(model, x) -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    import torch

    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, mod in model.named_modules():
        if name:

            def hook(m, i, o, name=name) -> None:
                if isinstance(o, torch.Tensor):
                    shapes[name] = tuple(o.shape)

            hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        y = model.eval()(x)
    for h in hooks:
        h.remove()
    return shapes, tuple(y.shape)


@pytest.mark.torchvision
@pytest.mark.parametrize("name", _tv_names())
def test_layer_shapes_match_torchvision(name: str) -> None:
    pytest.importorskip("torch")
    tvm = pytest.importorskip("torchvision.models")
    import torch

    from cnnscope.profile.build import build_module

    graph = cnnscope.load(name)
    builder = getattr(tvm, name, None)
    assert builder is not None, f"torchvision has no `{name}`"
    if name in CPU_BUILD:
        theirs = builder(weights=None, **TV_KWARGS.get(name, {})).to("meta")
    with torch.device("meta"):  # shapes only: no memory, no arithmetic
        if name not in CPU_BUILD:
            theirs = builder(weights=None, **TV_KWARGS.get(name, {}))
        ours = build_module(graph)
        x = torch.empty(1, *graph.input_shape)
    tv_shapes, tv_out = _output_shapes(theirs, x)
    our_shapes, our_out = _output_shapes(ours, x)
    assert our_out == tv_out
    tv_params = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    compared = 0
    channels_last = CHANNELS_LAST.get(name)
    for node in graph.nodes:
        tv_name = node.name
        for pat, rep in RENAMES.get(name, []):
            tv_name = re.sub(pat, rep, tv_name)
        if node.type in ("conv2d", "linear", "batchnorm2d"):
            # every weighted layer exists in torchvision under the same name, same shape
            assert tv_name in tv_shapes, f"`{node.name}` ({node.type}) is not a torchvision module"
            weight = tuple(ours.state_dict()[f"{node.name}.weight"].shape)
            if channels_last and re.search(channels_last, node.name) and len(tv_params[f"{tv_name}.weight"]) == 2:
                weight = weight[:2] if weight[2:] == (1, 1) else weight
            assert tv_params[f"{tv_name}.weight"] == weight, node.name
        if tv_name in tv_shapes and node.name in our_shapes:
            mine = our_shapes[node.name]
            if channels_last and re.search(channels_last, node.name):
                mine = (mine[0], *mine[2:], mine[1])
            assert mine == tv_shapes[tv_name], node.name
            compared += 1
    assert compared >= sum(1 for n in graph.nodes if n.type in ("conv2d", "linear"))


def test_convnext_tiny_built_module_agrees_with_torch() -> None:
    # the new layer types (layernorm2d, layerscale, stochasticdepth) built into a real module:
    # torch's own counts of its parameters and conv/linear work equal the published figures
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from cnnscope.profile.build import build_module

    graph = cnnscope.load("convnext_tiny")
    module = build_module(graph).eval()
    assert sum(p.numel() for p in module.parameters()) == 28_589_128  # torchvision's num_params
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        y = module(torch.randn(1, *graph.input_shape))
    assert tuple(y.shape) == (1, 1000)
    assert counter.get_total_flops() == 2 * _macs(graph)  # FlopCounterMode counts a MAC twice
    assert round(counter.get_total_flops() / 2e9, 3) == 4.456  # torchvision's "GFLOPS"


# -- the `cnnscope zoo` table, pinned -------------------------------------------------------

GOLDEN = Path(__file__).parent / "golden" / "zoo.json"
# Araujo, Norris & Sim (Distill, 2019), Table 1: VGG-16 at pool5
DISTILL_VGG16 = {"size": [212, 212], "stride": [32, 32], "padding": [90, 90]}


def test_zoo_json_golden_and_every_figure_checked(capsys: pytest.CaptureFixture[str], update_goldens: bool) -> None:
    """The json table is pinned by tests/golden/zoo.json (`pytest --update-goldens` rewrites
    it); each number in it is also checked against an oracle, so the golden cannot drift
    into agreeing with a wrong figure."""
    from cnnscope.analyze.rf import receptive_fields
    from cnnscope.cli.main import main

    assert main(["zoo", "--format", "json"]) == 0
    text = capsys.readouterr().out
    if update_goldens:
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.is_file(), "no tests/golden/zoo.json: run `pytest tests/test_zoo.py --update-goldens`, review it"
    assert text == GOLDEN.read_text(encoding="utf-8"), "zoo table changed; if intended, run with --update-goldens"

    tv = _torchvision_reference()
    rows = json.loads(text)["specs"]
    assert [r["name"] for r in rows] == SPECS
    for row in rows:
        name = row["name"]
        graph = cnnscope.load(name)
        # published (or hand-worked) parameters, MACs and input
        if name in BY_HAND:
            exp = BY_HAND[name]
            assert (row["params"], row["macs"], tuple(row["input_shape"])) == (exp["params"], exp["macs"], exp["input"])
        elif tv:
            exp = tv[name]
            assert row["params"] == exp["params"], name
            assert round(row["macs"] / 1e9, 3) == exp["gflops"], name
            assert row["input_shape"] == [3, exp["crop"], exp["crop"]], name
        # invariant: the total is the sum of the per-layer counts
        per_layer = cnnscope.analyze(graph, ["params"]).rows
        assert row["params"] == sum(r["params"] for r in per_layer), name
        # the RF reported is the analytic field of the layer named (measured in test_zoo_rf.py),
        # and nothing after that layer still maps to an input window
        rf = receptive_fields(graph)
        layer = row["rf"]["layer"]
        assert (row["rf"]["size"], row["rf"]["stride"], row["rf"]["padding"]) == (
            list(rf[layer].size),
            list(rf[layer].stride),
            list(rf[layer].padding),
        ), name
        after = [n.name for n in graph.nodes][[n.name for n in graph.nodes].index(layer) + 1 :]
        assert not any(rf[n].ok for n in after), name
        assert row["title"] and row["title"] in (ROOT / "specs" / f"{name}.yaml").read_text(encoding="utf-8")
    by_name = {r["name"]: r for r in rows}
    assert {k: by_name["vgg16"]["rf"][k] for k in DISTILL_VGG16} == DISTILL_VGG16
    # ConvNeXt-T's field, by hand: stem 4×4/4, then per stage j = 4, 8, 16, 32 the blocks' 7×7
    # depthwise convs add 6·j each and the 2×2/2 downsampling adds 1·j
    convnext = 4 + 3 * 6 * 4 + (1 * 4 + 3 * 6 * 8) + (1 * 8 + 9 * 6 * 16) + (1 * 16 + 3 * 6 * 32)
    assert by_name["convnext_tiny"]["rf"]["size"] == [convnext, convnext] == [1688, 1688]
