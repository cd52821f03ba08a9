"""The torch module frontend, checked against torch itself: real forward passes, the
de-duplicated ``sum(numel())`` of the parameters, and ``FlopCounterMode`` total / 2."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnnscope  # noqa: E402
from cnnscope.analyze.shapes import infer_shapes  # noqa: E402
from cnnscope.errors import CnnscopeError, SourceError  # noqa: E402
from cnnscope.frontends.torch.capture import capture  # noqa: E402

# -- the test modules -----------------------------------------------------------------------


class Plain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False),
            nn.ReLU6(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: Any) -> Any:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class Block(nn.Module):
    def __init__(self, c: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, 2 * c if stride > 1 else c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(self.conv1.out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(self.conv1.out_channels, self.conv1.out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(self.conv1.out_channels)
        self.down = nn.Conv2d(c, 2 * c, 1, stride, bias=False) if stride > 1 else None

    def forward(self, x: Any) -> Any:
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        short = self.down(x) if self.down is not None else x
        return self.relu(y + short)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.layer1 = nn.Sequential(Block(8), Block(8, stride=2))
        self.fc = nn.Linear(16, 5)

    def forward(self, x: Any) -> Any:
        x = self.layer1(F.relu(self.stem(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1))


class Inception(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 6, 3, padding=1))
        self.b3 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(3, 2, 1))
        self.head = nn.Conv2d(12, 8, 3)

    def forward(self, x: Any) -> Any:
        y = torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1)
        return F.max_pool2d(F.relu(self.head(y)), 2)


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(6, 3, 5, 5))
        self.b1 = nn.Parameter(torch.randn(6))
        self.w2 = nn.Parameter(torch.randn(12, 6, 3, 3))
        self.fc_w = nn.Parameter(torch.randn(10, 12))
        self.fc_b = nn.Parameter(torch.randn(10))

    def forward(self, x: Any) -> Any:
        x = F.relu(F.conv2d(x, self.w1, self.b1, stride=1, padding=2))
        x = F.max_pool2d(x, 2)
        x = torch.relu(F.conv2d(x, self.w2, None, 2, 1))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return F.linear(x, self.fc_w, self.fc_b)


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Conv2d(8, 8, 3, padding=1)  # called twice
        self.tied = nn.Parameter(torch.randn(8, 8, 1, 1))  # used by two F.conv2d calls
        self.head = nn.Linear(8, 4)

    def forward(self, x: Any) -> Any:
        x = F.relu(self.body(F.relu(self.body(self.stem(x)))))
        x = F.conv2d(F.conv2d(x, self.tied), self.tied) * x
        return self.head(x.mean((2, 3)) if False else torch.flatten(F.adaptive_max_pool2d(x, 1), 1))


class Dynamic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.extra = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: Any) -> Any:
        x = self.conv(x)
        if x.abs().sum() > 0:  # data-dependent: symbolic tracing cannot follow it
            x = F.relu(self.extra(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Net1d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(2, 8, 7, stride=2, padding=3),
            nn.BatchNorm1d(8),
            nn.GELU(),
            nn.MaxPool1d(2),
            nn.Conv1d(8, 8, 3, groups=4, dilation=2),
            nn.AdaptiveAvgPool1d(4),
            nn.Flatten(),
            nn.Linear(32, 3),
        )

    def forward(self, x: Any) -> Any:
        return self.net(x)


class Net3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm3d(4)
        self.pool = nn.AvgPool3d(2)
        self.conv2 = nn.Conv3d(4, 8, (1, 3, 3), stride=(1, 2, 2))
        self.fc = nn.Linear(8 * 4 * 1 * 1, 6)

    def forward(self, x: Any) -> Any:
        x = self.pool(torch.sigmoid(self.bn(self.conv1(x))))
        x = F.silu(self.conv2(x))
        return self.fc(x.reshape(x.shape[0], -1))


class WithUnsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.gamma = nn.Parameter(torch.ones(1, 4, 1, 1))
        self.fc = nn.Linear(4, 2)

    def forward(self, x: Any) -> Any:
        x = torch.cumsum(self.conv(x), dim=1) * self.gamma  # cumsum: no capture rule
        return self.fc(x.mean((2, 3)))


class Ops(nn.Module):
    """Functional calls that map to layer types: resizing, padding, spatial means, activations."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: Any) -> Any:
        x = F.interpolate(self.conv(x), scale_factor=2, mode="nearest")
        x = F.interpolate(x, size=(10, 12), mode="bilinear", align_corners=False)
        x = torch.sigmoid(x) + x.sigmoid() + F.hardswish(x) + F.hardsigmoid(x) + torch.tanh(x) + F.relu6(x)
        x = F.dropout2d(F.dropout(x, 0.2, training=self.training), 0.1, training=self.training)
        x = F.pad(F.pad(x, (1, 2, 0, 1)), (1, 1))
        x = F.adaptive_max_pool2d(x, (4, 4))
        y = torch.mean(x, dim=(2, 3), keepdim=True)
        x = x.mean(dim=(-2, -1)) + y.view(y.size(0), -1)
        return self.fc(torch.flatten(x.reshape(x.shape[0], -1), 1))


class Ops1d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3)

    def forward(self, x: Any) -> Any:
        x = F.pad(F.interpolate(self.conv(x), scale_factor=1.5, mode="linear"), (2, 0), mode="replicate")
        return F.silu(x).mean(-1)


CASES: dict[str, tuple[type[nn.Module], tuple[int, ...], str]] = {
    "ops": (Ops, (3, 8, 8), "fx"),
    "ops1d": (Ops1d, (2, 17), "fx"),
    "plain": (Plain, (3, 32, 32), "fx"),
    "residual": (Residual, (3, 16, 16), "fx"),
    "inception": (Inception, (3, 12, 12), "fx"),
    "functional": (Functional, (3, 16, 16), "fx"),
    "shared": (Shared, (3, 8, 8), "fx"),
    "dynamic": (Dynamic, (3, 10, 10), "recorded"),
    "net1d": (Net1d, (2, 64), "fx"),
    "net3d": (Net3d, (1, 8, 8, 8), "fx"),
}


# -- oracles ----------------------------------------------------------------------------------


def torch_figures(model: nn.Module, shape: tuple[int, ...]) -> tuple[dict[str, tuple[int, ...]], int, int, Any]:
    """Leaf-module output shapes by qualified name (hooks on a copy), de-duplicated params,
    MACs = FlopCounterMode / 2, and the output shape."""
    m = copy.deepcopy(model).eval()
    shapes: dict[str, tuple[int, ...]] = {}
    for name, sub in m.named_modules():
        if name and not list(sub.children()):

            def hook(mod: nn.Module, args: Any, out: Any, name: str = name) -> None:
                shapes.setdefault(name, tuple(out.shape))

            sub.register_forward_hook(hook)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        out = m(torch.randn(1, *shape))
    params = sum(p.numel() for p in model.parameters())
    return shapes, params, fc.get_total_flops() // 2, tuple(out.shape)


def analytic(graph: cnnscope.Graph) -> tuple[dict[str, tuple[int, ...]], int, int]:
    shapes = infer_shapes(graph)
    params = macs = 0
    for node in graph.nodes:
        ins = [shapes[i] for i in node.inputs]
        if node.shares is None:
            params += node.layer.params(ins).total
        macs += node.layer.macs(ins, shapes[node.name])
    return shapes, params, macs


@pytest.mark.parametrize("case", sorted(CASES))
def test_module_matches_torch(case: str) -> None:
    cls, shape, path = CASES[case]
    torch.manual_seed(0)
    model = cls()
    graph = capture(model, shape, name=case)
    assert graph.extras["capture"] == path
    assert graph.extras["unsupported"] == {}
    t_shapes, t_params, t_macs, t_out = torch_figures(model, shape)
    shapes, params, macs = analytic(graph)
    assert shapes[graph.output] == t_out
    for name, s in t_shapes.items():  # every leaf module the forward pass reached is a node
        assert shapes[name] == s, name
    real = capture(model, shape, measure="real").extras["measured_shapes"]
    for node in graph.nodes:  # every node, functional ones included, against a real run
        assert list(shapes[node.name]) == real[node.name], node.name
    assert params == t_params
    assert macs == t_macs > 0


def test_shared_module_and_tied_weights_count_once() -> None:
    graph = capture(Shared(), (3, 8, 8))
    shares = {n.name: n.shares for n in graph.nodes if n.shares}
    assert shares == {"body_1": "body", "conv2d_1": "conv2d"}
    r = cnnscope.analyze(graph, ["params"])
    assert r.totals["params"] == sum(p.numel() for p in Shared().parameters())


def test_functional_params_attributed_to_nodes() -> None:
    graph = capture(Functional(), (3, 16, 16))
    types = [n.type for n in graph.nodes]
    assert types == ["conv2d", "relu", "maxpool2d", "conv2d", "relu", "adaptiveavgpool2d", "flatten", "linear"]
    r = cnnscope.analyze(graph, ["params"])
    assert r.row("conv2d")["params"] == 6 * 3 * 25 + 6
    assert r.row("linear")["params"] == 12 * 10 + 10


def test_leaf_modules_keep_qualified_names() -> None:
    graph = capture(Residual(), (3, 16, 16))
    assert "layer1.0.conv1" in graph and graph.node("layer1.0.conv1").type == "conv2d"
    assert graph.node("layer1.0.add").type == "add"
    assert graph.node("layer1.1.down").type == "conv2d"


def test_ops_without_a_rule_are_opaque_and_measured() -> None:
    model = WithUnsupported()
    graph = capture(model, (3, 8, 8))
    assert graph.extras["opaque"] == {"cumsum": 1} and graph.extras["unsupported"] == {}
    assert graph.node("gamma").type == "parameter" and graph.node("mul").inputs == ("cumsum", "gamma")
    r = cnnscope.analyze(graph, ["params", "compute"])
    assert "incomplete" not in r.totals and r.totals["opaque"] == ["cumsum"]
    assert r.totals["params"] == sum(p.numel() for p in model.parameters())  # gamma on its parameter node
    assert r.row("gamma")["params"] == 4
    t_macs = torch_figures(model, (3, 8, 8))[2]
    assert analytic(graph)[2] == t_macs


def test_mapped_ops_become_layer_types() -> None:
    graph = capture(Ops(), (3, 8, 8))
    types = Counter(n.type for n in graph.nodes)
    assert types["upsample"] == 2 and types["zeropad2d"] == 2 and types["dropout"] == types["dropout2d"] == 1
    assert types["adaptiveavgpool2d"] == 2 and types["adaptivemaxpool2d"] == 1
    assert graph.node("mean_1").type == "adaptiveavgpool2d" and graph.node("mean_1.flatten").type == "flatten"
    assert {"sigmoid", "hardswish", "hardsigmoid", "tanh", "relu6"} <= set(types)
    g1 = capture(Ops1d(), (2, 17))
    assert [n.type for n in g1.nodes] == [
        "conv1d", "upsample", "replicationpad1d", "silu", "adaptiveavgpool1d", "flatten"
    ]  # fmt: skip


class Unmapped(nn.Module):
    def forward(self, x: Any) -> Any:
        x = F.pad(x, (1, 1, 1, 1, 1, 1))  # pads the channels too: no zeropad2d does that
        x = F.interpolate(x, scale_factor=2, mode="bilinear", antialias=True)
        return x.mean(1) + x.mean((1, 2, 3), keepdim=True).flatten(1)[:, :1, None].squeeze(-1)


def test_ops_without_an_exact_layer_type_are_opaque() -> None:
    model = Unmapped()
    graph = capture(model, (3, 4, 4))
    assert graph.extras["opaque"] == {"interpolate": 1}  # no layer type antialiases
    assert graph.node("pad").type == "pad"  # the channels too: the general constant pad
    assert [graph.node(n).type for n in ("mean", "mean_1", "getitem")] == ["reduce", "reduce", "slice"]
    r = cnnscope.analyze(graph, ["params", "compute"])
    assert "incomplete" not in r.totals
    with torch.no_grad():
        out = model(torch.randn(1, 3, 4, 4))
    assert r.row(graph.output)["output_shape"] == list(out.shape)


def test_verify_batch_measures_at_that_batch(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from cnnscope.cli.main import main

    p = tmp_path / "bt.py"
    p.write_text(
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    input_shape = (3, 6, 6)\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n"
        "        return self.conv(x).transpose(0, 1)\n"
    )
    assert main(["verify", f"{p}:Net", "--batch", "3", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    shapes = {c["layer"]: c["torch"] for c in doc["checks"] if c["check"] == "shape"}
    with torch.no_grad():
        out = nn.Conv2d(3, 4, 3)(torch.randn(3, 3, 6, 6)).transpose(0, 1)
    assert shapes["conv"] == [3, 4, 4, 4]
    assert shapes["transpose"] == list(out.shape) == [4, 3, 4, 4]


def _state(model: nn.Module) -> dict[str, Any]:
    from torch.nn.modules import module as mm

    return {
        "sd": {k: v.clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()],
        "global": (len(mm._global_forward_hooks), len(mm._global_forward_pre_hooks)),
        "attrs": [sorted(vars(m)) for m in model.modules()],
        "grad": [p.requires_grad for p in model.parameters()],
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (
        a["sd"].keys() == b["sd"].keys()
        and all(torch.equal(a["sd"][k], b["sd"][k]) for k in a["sd"])
        and all(a[k] == b[k] for k in a if k != "sd")
    )


@pytest.mark.parametrize("cls", [Residual, Dynamic])
def test_model_left_as_it_was(cls: type[nn.Module]) -> None:
    model = cls().train()
    before = _state(model)
    capture(model, (3, 16, 16))
    capture(model, (3, 16, 16), measure="real")
    assert _same(before, _state(model))


@pytest.mark.parametrize("cls", [Residual, Dynamic])
def test_model_left_as_it_was_after_an_error(cls: type[nn.Module]) -> None:
    model = cls().train()
    before = _state(model)
    with pytest.raises(CnnscopeError) as exc:
        capture(model, (5, 16, 16))  # wrong channel count: torch raises inside the forward pass
    assert exc.value.kind == "forward-failed"
    assert _same(before, _state(model))


# -- sources ------------------------------------------------------------------------------------

MODEL_PY = """
import torch.nn as nn

class Net(nn.Module):
    input_shape = (3, 16, 16)

    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))

class NoShape(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(x)

def build():
    return NoShape()
"""


@pytest.fixture
def model_py(tmp_path: Path) -> Path:
    p = tmp_path / "model.py"
    p.write_text(MODEL_PY)
    return p


def test_file_source_with_kwargs_and_declared_shape(model_py: Path) -> None:
    g = cnnscope.load(f"{model_py}:Net", kwargs=json.dumps({"width": 6}))
    assert g.input_shape == (3, 16, 16)
    assert infer_shapes(g)[g.output] == (1, 6, 14, 14)


def test_factory_needs_an_input_shape(model_py: Path) -> None:
    with pytest.raises(SourceError) as exc:
        cnnscope.load(f"{model_py}:build")
    assert exc.value.kind == "missing-input"
    g = cnnscope.load(f"{model_py}:build", (3, 8, 8))
    assert infer_shapes(g)[g.output] == (1, 4, 6, 6)


@pytest.mark.parametrize(
    ("source", "kwargs", "kind"),
    [
        ("{p}:Nope", None, "source-not-found"),
        ("{p}:Net", "{bad json", "bad-kwargs"),
        ("{p}:Net", '{"depth": 3}', "bad-kwargs"),
        ("no_such_pkg_xyz.mod:Net", None, "source-not-found"),
        ("json:dumps", '{"obj": 1}', "not-a-module"),
    ],
)
def test_bad_sources(model_py: Path, source: str, kwargs: str | None, kind: str) -> None:
    with pytest.raises(SourceError) as exc:
        cnnscope.load(source.format(p=model_py), (3, 8, 8), kwargs=kwargs)
    assert exc.value.kind == kind


def test_missing_extra_names_it() -> None:
    import importlib.util

    for pkg in ("torchvision", "timm"):
        if importlib.util.find_spec(pkg) is not None:
            continue
        with pytest.raises(SourceError) as exc:
            cnnscope.load(f"{pkg}:resnet18")
        assert exc.value.kind == "missing-extra"
        assert f"cnnscope[{pkg}]" in (exc.value.hint or "")


# -- whole networks: the built-in specs as torch modules ------------------------------------------


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "googlenet"])
def test_builtin_spec_module_captures_to_the_same_figures(name: str) -> None:
    from cnnscope.profile.build import build_module

    spec = cnnscope.load(name)
    module = build_module(spec)
    graph = capture(module, spec.input_shape)
    assert graph.extras["unsupported"] == {}
    a_shapes, a_params, a_macs = analytic(spec)
    shapes, params, macs = analytic(graph)
    assert params == a_params == sum(p.numel() for p in module.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        module(torch.randn(1, *spec.input_shape))
    assert macs == a_macs == fc.get_total_flops() // 2
    assert {n: shapes[n] for n in shapes if n in a_shapes} == {n: a_shapes[n] for n in shapes if n in a_shapes}


# -- torchvision, when installed ----------------------------------------------------------------

TV = ["resnet18", "resnet50", "vgg16", "mobilenet_v2", "googlenet"]


@pytest.mark.torchvision
@pytest.mark.parametrize("name", TV)
def test_torchvision_published_figures(name: str, shared: Path) -> None:
    pytest.importorskip("torchvision")
    ref = {m["model"]: m for m in json.loads((shared / "reference" / "torchvision_models.json").read_text())}[name]
    graph = cnnscope.load(f"torchvision:{name}")
    _, params, macs = analytic(graph)
    assert graph.extras["unsupported"] == {}
    assert params == ref["num_params"]
    assert round(macs / 1e9, 3) == pytest.approx(ref["gflops"], abs=0.0015)


# -- ConvNeXt: permutes and layer scales on raw parameters -----------------------------------------


class CNBlock(nn.Module):
    """ConvNeXt's block as its paper writes it: channels last between two permutes, the layer
    scale γ of shape (C,) on the last dim."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.rand(c) + 0.5)

    def forward(self, x: Any) -> Any:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        y = self.gamma * y
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtish(nn.Module):
    """Two blocks, then the other spellings: torch.mul by a (C, 1, 1) γ channels first,
    torch.transpose / Tensor.transpose / torch.permute, and Tensor.mul with γ second."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 2, stride=2)
        self.stages = nn.Sequential(CNBlock(8), CNBlock(8))
        self.scale = nn.Parameter(torch.rand(8, 1, 1) + 0.5)
        self.last = nn.Parameter(torch.rand(8) + 0.5)
        self.head = nn.Linear(8, 4)

    def forward(self, x: Any) -> Any:
        x = torch.mul(self.stages(self.stem(x)), self.scale)
        x = torch.transpose(x, 1, 3).transpose(1, 2)  # (N, H, W, C)
        x = torch.permute(x.mul(self.last), (0, 3, 1, 2))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_convnext_block_captures_with_every_op_mapped() -> None:
    torch.manual_seed(0)
    model, shape = ConvNeXtish(), (3, 12, 10)  # H != W: a wrong permutation shows in the shapes
    graph = capture(model, shape)
    assert graph.extras["unsupported"] == {}
    types = Counter(n.type for n in graph.nodes)
    assert types["permute"] == 2 * 2 + 3 and types["layerscale"] == 2 + 2
    assert graph.node("stages.0.mul").layer.dim == -1 and graph.node("mul").layer.dim == 1
    t_shapes, t_params, t_macs, t_out = torch_figures(model, shape)
    shapes, params, macs = analytic(graph)
    assert shapes[graph.output] == t_out
    for name, s in t_shapes.items():
        assert shapes[name] == s, name
    real = capture(model, shape, measure="real").extras["measured_shapes"]
    for node in graph.nodes:
        assert list(shapes[node.name]) == real[node.name], node.name
    assert params == t_params == sum(p.numel() for p in model.parameters())
    assert macs == t_macs > 0
    r = cnnscope.analyze(graph, ["params"])
    assert r.row("stages.0.mul")["params"] == 8 and r.row("mul")["params"] == 8  # γ on its node
    assert not r.totals.get("incomplete")


def test_convnext_block_exports_and_loads_back() -> None:
    from cnnscope.export import export_yaml
    from cnnscope.frontends.yaml.loader import load_spec
    from cnnscope.profile.build import build_module

    model, shape = ConvNeXtish(), (3, 12, 10)
    graph = capture(model, shape)
    for flat in (False, True):
        text = export_yaml(graph, flat=flat, strict=True)
        g2 = load_spec(text)
        assert [(n.name, n.layer, n.inputs) for n in g2.nodes] == [(n.name, n.layer, n.inputs) for n in graph.nodes]
        assert analytic(g2) == analytic(graph)
    assert "block:" in export_yaml(graph)  # the two blocks share one definition
    built = build_module(g2)  # the spec's own torch module: same parameters and MACs as the model
    assert sum(p.numel() for p in built.parameters()) == sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        out = built(torch.randn(1, *shape))
    assert tuple(out.shape) == analytic(graph)[0][graph.output]
    assert fc.get_total_flops() // 2 == analytic(graph)[2]


class NotALayerScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.tied = nn.Parameter(torch.ones(4, 1, 1))
        self.row = nn.Parameter(torch.ones(6))  # over the last dim: a layerscale with dim -1
        self.plane = nn.Parameter(torch.ones(6, 6))  # one γ per (H, W): no layerscale has that shape

    def forward(self, x: Any) -> Any:
        x = self.conv(x) * self.tied
        x = (x * self.tied) * self.row  # the same γ again: counted once
        return (x * self.plane).transpose(0, 1)  # moves the batch, as torch allows


def test_parameter_products_that_are_not_layerscales_take_parameter_nodes() -> None:
    model = NotALayerScale()
    graph = capture(model, (3, 8, 8))
    assert graph.extras["opaque"] == {} and graph.extras["unsupported"] == {}
    assert graph.node("transpose").type == "permute" and graph.node("transpose").layer.dims == (1, 0, 2, 3)
    assert graph.node("mul").type == graph.node("mul_1").type == "layerscale"
    assert graph.node("mul_1").shares == "mul"
    assert graph.node("mul_2").type == "layerscale" and graph.node("mul_2").layer.dim == -1
    r = cnnscope.analyze(graph, ["params"])
    assert r.totals["params"] == sum(p.numel() for p in model.parameters())  # the plane on its `mul`
    assert r.row("plane")["params"] == 36 and r.row("mul_3")["params"] == 0 and r.row("mul_1")["params"] == 0
    assert graph.node("mul_3").inputs == ("mul_2", "plane")


@pytest.mark.parametrize(
    ("dims", "rf"),
    [((0, 1, 2, 3), "pointwise"), ((0, 2, 3, 1), "unsupported"), ((0, 1, 3, 2), "unsupported")],
)
def test_permute_receptive_field(dims: tuple[int, ...], rf: str) -> None:
    from cnnscope.layers import registry

    layer = registry()["permute"](dims=dims)
    assert layer.rf([(1, 3, 4, 5)]).kind.value == rf


@pytest.mark.torchvision
def test_torchvision_convnext_tiny(shared: Path) -> None:
    pytest.importorskip("torchvision")
    from cnnscope.export import export_yaml
    from cnnscope.frontends.yaml.loader import load_spec

    ref = {m["model"]: m for m in json.loads((shared / "reference" / "torchvision_models.json").read_text())}
    graph = cnnscope.load("torchvision:convnext_tiny")
    assert graph.extras["unsupported"] == {}
    counts = Counter(n.type for n in graph.nodes)
    assert counts["permute"] == 46 and counts["layerscale"] == 18
    _, params, macs = analytic(graph)
    assert params == ref["convnext_tiny"]["num_params"] == 28_589_128
    assert round(macs / 1e9, 3) == pytest.approx(ref["convnext_tiny"]["gflops"], abs=0.0015)
    assert analytic(load_spec(export_yaml(graph, strict=True))) == analytic(graph)


class GrowsInForward(nn.Module):
    """Registers a submodule and counts its calls in a buffer during forward: impure."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x: Any) -> Any:
        self.calls += 1
        if not hasattr(self, "late"):
            self.late = nn.Conv2d(4, 4, 1)
        return self.late(self.conv(x))


def _corpus() -> list[type[nn.Module]]:
    """Every module class of this file that builds without arguments and takes a 3-channel map."""
    out = []
    for obj in list(globals().values()):
        if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.__module__ == __name__:
            try:
                m = obj()
                with torch.no_grad():
                    m.eval()(torch.randn(1, 3, 16, 16))
            except Exception:
                continue
            out.append(obj)
    return out


@pytest.mark.parametrize("cls", _corpus(), ids=lambda c: c.__name__)  # GrowsInForward among them
def test_every_corpus_module_is_left_as_it_was(cls: type[nn.Module]) -> None:
    model = cls().train()
    before = _state(model)
    tree = [(n, id(m)) for n, m in model.named_modules()]
    params = [(n, id(p)) for n, p in model.named_parameters()]
    for measure in ("fake", "real"):
        capture(model, (3, 16, 16), measure=measure)
        assert _same(before, _state(model)), measure
        assert [(n, id(m)) for n, m in model.named_modules()] == tree, measure  # no module added or replaced
        assert [(n, id(p)) for n, p in model.named_parameters()] == params, measure  # the same parameter objects


TWO_INPUTS = (
    "import torch.nn as nn\n"
    "class Two(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.a = nn.Conv2d(3, 8, 3)\n"
    "        self.b = nn.Conv2d(1, 8, 5, padding=1)\n"
    "    def forward(self, x, mask):\n"
    "        return self.a(x) * self.b(mask)\n"
)


def test_repeated_input_gives_each_forward_argument_its_shape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from cnnscope.cli.main import main

    p = tmp_path / "two.py"
    p.write_text(TWO_INPUTS)
    assert main(["summary", f"{p}:Two", "-i", "3,16,16", "-i", "1,16,16", "--batch", "2", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in doc["layers"]}
    ns: dict[str, Any] = {}
    exec(TWO_INPUTS, ns)  # the oracle: the same class, run by torch
    model = ns["Two"]()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 16, 16), torch.randn(2, 1, 16, 16))
    assert rows["mask"]["type"] == "extrainput" and rows["mask"]["output_shape"] == [2, 1, 16, 16]
    assert doc["layers"][-1]["output_shape"] == list(out.shape) == [2, 8, 14, 14]
    assert doc["totals"]["params"] == sum(q.numel() for q in model.parameters()) == (3 * 9 + 1) * 8 + (25 + 1) * 8
    # MACs at batch 2: a is 14*14*8 outputs of 27 MACs, b the same outputs of 25 MACs, and the product
    assert doc["totals"]["macs"] == 2 * 14 * 14 * 8 * (27 + 25)


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["summary", "{p}:Two", "-i", "3,16,16", "-i", "1,16,16", "-i", "1,16,16"], "unsupported-model"),
        (["summary", "{p}:Two", "-i", "3,16,16"], "forward-failed"),  # the mask gets x's 3 channels
        (["summary", "resnet18", "-i", "3,32,32", "-i", "3,32,32"], "bad-option"),
        (["verify", "{p}:Two", "-i", "3,16,16", "-i", "1,16,16"], "bad-option"),
    ],
)
def test_input_count_errors_are_one_diagnostic(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], kind: str
) -> None:
    from cnnscope.cli.main import main

    p = tmp_path / "two.py"
    p.write_text(TWO_INPUTS)
    assert main([a.format(p=p) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error[{kind}]") and "Traceback" not in err, err
    if kind == "forward-failed":
        assert "forward takes 2 inputs (x, mask)" in err
