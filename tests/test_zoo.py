"""The built-in zoo: every spec in specs/ against its published figures.

Parametrized over ``specs/*.yaml`` at collection time, so a new spec is tested the moment
it is added, and a spec with no expected figures in tests/published.py or in the reference
json fails.

Oracles (tests/published.py): torchvision's published ``num_params`` and ``GFLOPS`` (one
multiply-add counted once, conv/linear/matmul only) from
../shared/reference/torchvision_models.json; hand arithmetic for the specs torchvision does
not have, itself recomputed by torch; torchvision's own modules (when it is installed) for
per-layer output shapes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from goldens import check_golden
from published import ALEXNET227_MACS, ALEXNET227_PARAMS, BY_HAND, LENET5_MACS, LENET5_PARAMS, torchvision_reference

import cnnscope
from cnnscope.analyze.shapes import infer_shapes

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))


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
    assert LENET5_PARAMS == 61_706  # the LeNet-5 figure the issue quotes
    assert ALEXNET227_PARAMS == 62_378_344  # CS231n's "~60M", the 62.3 M usually quoted


def _count(model: object, x: object) -> tuple[int, int, dict[str, tuple[int, ...]]]:
    """torch's own figures for a module: parameters, FlopCounterMode MACs, output shape per child."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    assert isinstance(model, torch.nn.Sequential) and isinstance(x, torch.Tensor)
    shapes: dict[str, tuple[int, ...]] = {}
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        for name, child in model.named_children():
            x = child(x)
            shapes[name] = tuple(x.shape)
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2, shapes


def test_hand_figures_hold_in_torch() -> None:
    """The hand arithmetic above, recomputed by torch on the published layer tables (written
    here in plain torch.nn, not built by cnnscope); and cnnscope's shapes are torch's."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def conv_relu_pool(cin: int, cout: int, k: int, pad: int = 0, stride: int = 1, pool: int = 0) -> list[object]:
        return [nn.Conv2d(cin, cout, k, stride, pad), nn.ReLU(), *([nn.MaxPool2d(3, 2)] if pool else [])]

    # CS231n's AlexNet: 227 makes (227 − 11)/4 + 1 = 55 whole; the paper's 224 would floor to 54
    with torch.device("meta"):  # shapes and counts only: no memory, no arithmetic
        alexnet = nn.Sequential(
            *conv_relu_pool(3, 96, 11, stride=4, pool=1),
            *conv_relu_pool(96, 256, 5, pad=2, pool=1),
            *conv_relu_pool(256, 384, 3, pad=1),
            *conv_relu_pool(384, 384, 3, pad=1),
            *conv_relu_pool(384, 256, 3, pad=1, pool=1),
            nn.Flatten(),
            *(nn.Linear(9216, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000)),
        )
        params, macs, shapes = _count(alexnet, torch.empty(1, 3, 227, 227))
        assert nn.Conv2d(3, 96, 11, stride=4)(torch.empty(1, 3, 224, 224)).shape[-1] == 54
    assert (params, macs) == (ALEXNET227_PARAMS, ALEXNET227_MACS)
    assert shapes["0"] == (1, 96, 55, 55) and shapes["2"] == (1, 96, 27, 27) and shapes["13"] == (1, 9216)
    rows = cnnscope.analyze(cnnscope.load("alexnet-227"), ["shapes"]).rows
    assert [r["output_shape"] for r in rows if r["name"] in ("conv1", "pool1", "flatten")] == [
        list(shapes["0"]),
        list(shapes["2"]),
        list(shapes["13"]),
    ]
    lenet = nn.Sequential(
        *(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2)),
        *(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)),
    )
    params, macs, shapes = _count(lenet, torch.zeros(1, 1, 32, 32))
    assert (params, macs) == (LENET5_PARAMS, LENET5_MACS)
    assert shapes["6"] == (1, 400)  # 16·5·5 features into fc1


def _macs(graph) -> int:
    shapes = infer_shapes(graph)
    return sum(n.layer.macs([shapes[i] for i in n.inputs], shapes[n.name]) for n in graph.nodes)


def _params(graph) -> int:
    return cnnscope.analyze(graph, ["params"]).totals["params"]


@pytest.mark.parametrize("name", SPECS)
def test_spec_matches_published_figures(name: str) -> None:
    tv = torchvision_reference()
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


def test_zoo_json_golden(capsys: pytest.CaptureFixture[str], update_goldens: bool) -> None:
    """Pinned by the golden zoo.json (`pytest --update-goldens` rewrites it); its invariant in
    tests/goldens.py holds every number to an oracle: published or hand-worked params, MACs and
    input, and the receptive field measured by gradients."""
    from cnnscope.cli.main import main

    assert main(["zoo", "--format", "json"]) == 0
    check_golden("zoo.json", capsys.readouterr().out, update_goldens)
