"""Memory: activation, weight and training bytes, against hand arithmetic and real tensors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest

import cnnscope
from cnnscope.errors import UsageError

torch = pytest.importorskip("torch")

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
SIZES = {"float32": 4, "float16": 2, "bfloat16": 2}

LENET_PARAMS = 61_706  # (5·5·1+1)·6 + (5·5·6+1)·16 + 401·120 + 121·84 + 85·10
# lenet5 outputs at batch 1, elements per layer, in graph order
LENET_OUTPUTS = {
    "conv1": 6 * 28 * 28,
    "relu1": 6 * 28 * 28,
    "pool1": 6 * 14 * 14,
    "conv2": 16 * 10 * 10,
    "relu2": 16 * 10 * 10,
    "pool2": 16 * 5 * 5,
    "flatten": 400,
    "fc1": 120,
    "relu3": 120,
    "fc2": 84,
    "relu4": 84,
    "fc3": 10,
}


def test_lenet5_by_hand() -> None:
    r = cnnscope.analyze(cnnscope.load("lenet5"), ["memory"], batch=4, dtype="float16", optimizer="sgd-momentum")
    for name, n in LENET_OUTPUTS.items():
        assert r.row(name)["activation_bytes"] == 4 * n * 2, name
    acts = 4 * sum(LENET_OUTPUTS.values()) * 2  # 4 samples, 2 bytes each
    assert acts == 4 * (2 * 4704 + 1176 + 2 * 1600 + 400 + 400 + 2 * 120 + 2 * 84 + 10) * 2 == 4 * 15_002 * 2
    assert r.totals["activation_bytes"] == acts
    assert r.totals["input_bytes"] == 4 * 1 * 32 * 32 * 2
    assert r.totals["param_bytes"] == LENET_PARAMS * 2
    assert r.totals["buffer_bytes"] == 0
    t = r.totals["training"]
    assert t == {
        "param_bytes": LENET_PARAMS * 2,
        "buffer_bytes": 0,
        "gradient_bytes": LENET_PARAMS * 2,
        "optimizer_bytes": LENET_PARAMS * 2,  # momentum: one copy
        "activation_bytes": acts + 4 * 32 * 32 * 2,  # the input is kept too
        "total_bytes": 3 * LENET_PARAMS * 2 + acts + 4 * 32 * 32 * 2,
    }
    assert r.totals["training_bytes"] == t["total_bytes"]
    assert any("kept for backward" in n for n in r.notes)


@pytest.mark.parametrize("optimizer,states", [("sgd", 0), ("sgd-momentum", 1), ("adam", 2)])
def test_optimizer_state_copies(optimizer: str, states: int) -> None:
    r = cnnscope.analyze(cnnscope.load("lenet5"), ["memory"], optimizer=optimizer)
    assert r.totals["training"]["optimizer_bytes"] == states * LENET_PARAMS * 4


FROZEN = """
name: frozen
input: [3, 8, 8]
layers:
  - {name: stem, type: conv2d, out_channels: 4, kernel_size: 3, trainable: false}
  - {name: bn, type: batchnorm2d}
  - {name: head, type: conv2d, out_channels: 2, kernel_size: 1, bias: false}
"""


def test_frozen_weights_have_no_gradient_or_state() -> None:
    r = cnnscope.analyze(cnnscope.load_spec(FROZEN), ["memory"], optimizer="adam")
    stem, bn, head = 3 * 3 * 3 * 4 + 4, 2 * 4, 4 * 2  # 112 frozen; 8 and 8 trainable
    t = r.totals["training"]
    assert t["param_bytes"] == (stem + bn + head) * 4
    assert t["gradient_bytes"] == (bn + head) * 4
    assert t["optimizer_bytes"] == 2 * (bn + head) * 4
    assert t["buffer_bytes"] == 2 * 4 * 4 + 8  # running mean, var at float32; num_batches_tracked int64


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("spec,batch", [("lenet5", 3), ("cs231n-conv", 2)])
def test_activation_bytes_match_real_tensors(spec: str, batch: int, dtype: str) -> None:
    from cnnscope.profile.build import build_module

    graph = cnnscope.load(spec)
    r = cnnscope.analyze(graph, ["memory"], batch=batch, dtype=dtype)
    module = build_module(graph, batch).to(DTYPES[dtype])
    with torch.no_grad():
        outs = module(torch.zeros(batch, *graph.input_shape, dtype=DTYPES[dtype]), return_all=True)
    for name, y in outs.items():
        assert r.row(name)["activation_bytes"] == y.numel() * y.element_size(), name
    assert r.totals["activation_bytes"] == sum(y.numel() * y.element_size() for y in outs.values())


@pytest.fixture(scope="module")
def resnet18() -> tuple[Any, Any]:
    from cnnscope.profile.build import build_module

    graph = cnnscope.load("resnet18")
    return graph, build_module(graph, 2)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_resnet18_bytes_match_module(resnet18: tuple[Any, Any], dtype: str) -> None:
    graph, module = resnet18
    r = cnnscope.analyze(graph, ["memory"], batch=2, dtype=dtype)
    m = module.to(device="meta", dtype=DTYPES[dtype])  # float tensors convert; num_batches_tracked stays int64
    param_bytes = sum(p.numel() * p.element_size() for p in m.parameters())
    buffer_bytes = sum(b.numel() * b.element_size() for b in m.buffers())
    assert r.totals["param_bytes"] == param_bytes == 11_689_512 * SIZES[dtype]
    # 20 BatchNorms: running mean and var (2·C at dtype) + one int64 step counter (8 bytes)
    assert r.totals["buffer_bytes"] == buffer_bytes == (9_620 - 20) * SIZES[dtype] + 20 * 8
    with torch.no_grad():
        outs = m(torch.empty(2, 3, 224, 224, device="meta", dtype=DTYPES[dtype]), return_all=True)
    for name, y in outs.items():
        assert r.row(name)["activation_bytes"] == y.numel() * y.element_size(), name
    # the stem alone: 2 samples · 64 channels · 112 · 112 elements
    assert r.row("conv1")["activation_bytes"] == 2 * 64 * 112 * 112 * SIZES[dtype]


@pytest.mark.parametrize("optimizer", ["sgd", "sgd-momentum", "adam"])
def test_gradients_and_state_match_a_real_step(optimizer: str) -> None:
    from cnnscope.profile.build import build_module

    graph = cnnscope.load_spec(FROZEN)
    r = cnnscope.analyze(graph, ["memory"], optimizer=optimizer)
    module = build_module(graph).train()
    trainable = [p for p in module.parameters() if p.requires_grad]
    opt: Any = {
        "sgd": lambda: torch.optim.SGD(trainable, lr=0.1),
        "sgd-momentum": lambda: torch.optim.SGD(trainable, lr=0.1, momentum=0.9),
        "adam": lambda: torch.optim.Adam(trainable),
    }[optimizer]()
    module(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    grads = sum(p.grad.numel() * p.grad.element_size() for p in module.parameters() if p.grad is not None)
    # Adam's scalar `step` counters are bookkeeping, not a copy of the weights
    state = sum(
        v.numel() * v.element_size()
        for s in opt.state.values()
        for k, v in s.items()
        if k != "step" and isinstance(v, torch.Tensor)
    )
    assert r.totals["training"]["gradient_bytes"] == grads
    assert r.totals["training"]["optimizer_bytes"] == state


def test_bad_dtype_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="float16"):
        cnnscope.analyze(cnnscope.load("lenet5"), ["memory"], dtype="float61")


def _cli(*args: str) -> tuple[int, str]:
    from cnnscope.cli.main import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(list(args))
    return rc, buf.getvalue()


def test_memory_json_is_integers() -> None:
    rc, out = _cli("memory", "lenet5", "-f", "json", "--dtype", "bfloat16", "--optimizer", "sgd", "-b", "2")
    assert rc == 0
    doc = json.loads(out)
    assert doc["dtype"] == "bfloat16" and doc["optimizer"] == "sgd"
    for row in doc["layers"]:
        assert type(row["activation_bytes"]) is int
    for key in ("activation_bytes", "param_bytes", "buffer_bytes", "training_bytes"):
        assert type(doc["totals"][key]) is int, key
    assert all(type(v) is int for v in doc["totals"]["training"].values())
    assert doc["totals"]["activation_bytes"] == 2 * 15_002 * 2


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_memory_formats(fmt: str) -> None:
    rc, out = _cli("memory", "resnet18", "-f", fmt)
    assert rc == 0 and "layer4.1.conv2" in out
    if fmt != "csv":
        assert "optimizer state" in out


def test_summary_has_macs_and_activations() -> None:
    rc, out = _cli("summary", "resnet18", "-f", "json", "--batch", "32")
    assert rc == 0
    doc = json.loads(out)
    assert doc["totals"]["macs"] == 32 * 1_814_073_344
    assert doc["layers"][0]["activation_bytes"] == 32 * 64 * 112 * 112 * 4
