"""The Python API for a live module: cnnscope.summary(model, input_size=...) and friends."""

from __future__ import annotations

import json

import pytest

import cnnscope
from cnnscope.api import ModelReport, split_input
from cnnscope.errors import UsageError

torch = pytest.importorskip("torch")
nn = torch.nn


def small_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


def test_summary_of_a_module_matches_torch_and_leaves_it_alone() -> None:
    m = small_net().train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    grads = [p.requires_grad for p in m.parameters()]
    r = cnnscope.summary(m, (2, 3, 32, 32))  # torchinfo's call: the batch first
    assert isinstance(r, ModelReport) and isinstance(r, cnnscope.Report)
    assert r.batch == 2 and r.input_shape == (2, 3, 32, 32)
    assert r.totals["params"] == sum(p.numel() for p in m.parameters())
    assert m.training and [p.requires_grad for p in m.parameters()] == grads
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert not m._forward_hooks and not m._forward_pre_hooks


def test_input_size_with_or_without_the_batch() -> None:
    m = small_net()
    assert cnnscope.params(m, (3, 32, 32)).input_shape == (1, 3, 32, 32)  # Conv2d takes C,H,W: no batch
    assert cnnscope.params(m, (4, 3, 32, 32)).input_shape == (4, 3, 32, 32)
    assert cnnscope.params(m, input_shape=(3, 32, 32), batch=5).input_shape == (5, 3, 32, 32)
    assert cnnscope.flops("lenet5", (1, 32, 32)).batch == 1  # the spec's rank decides
    assert cnnscope.flops("lenet5", (8, 1, 32, 32)).batch == 8
    assert split_input((1, 3, 224, 224), None, None) == ((3, 224, 224), 1)  # no word from a model: N,C,H,W
    assert split_input((3, 224, 224), None, None) == ((3, 224, 224), 1)
    with pytest.raises(UsageError):
        split_input((2, 3, 32, 32), 3, 4)  # the batch said twice, differently
    with pytest.raises(UsageError):
        cnnscope.summary(m)  # a module needs an input size


def test_report_shows_itself() -> None:
    r = cnnscope.summary("resnet18")
    text = r.to_text(80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "layer4.1.conv2" in text and "hidden to fit" in text
    assert "11,689,512" in r.to_text(None)
    html = r._repr_html_()
    assert "<table>" in html and "11,689,512" in html and "layer4.1.conv2" in html
    doc = r.to_dict()
    assert doc["totals"]["params"] == 11_689_512 and doc["schema_version"] == 2  # render.formats.json
    assert json.loads(r.to_json())["totals"]["macs"] == 1_814_073_344
    from rich.console import Console

    con = Console(width=100, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    con.print(r)
    assert all(len(line) <= 100 for line in con.export_text().splitlines())


def test_to_pandas_when_installed() -> None:
    pytest.importorskip("pandas")
    df = cnnscope.params("lenet5").to_pandas()
    assert int(df["params"].sum()) == cnnscope.params("lenet5").totals["params"]


def test_other_analyses_and_dtype_aliases() -> None:
    m = small_net()
    assert cnnscope.memory(m, (3, 32, 32), dtype="bf16").totals["param_bytes"] == 2 * 330
    assert cnnscope.memory(m, (3, 32, 32), dtype="half").totals["param_bytes"] == 2 * 330
    rf = cnnscope.rf(m, (3, 32, 32))
    assert rf.row("0")["rf"]["size"] == [3, 3]
    assert cnnscope.shapes(m, (3, 32, 32)).row("5")["output_shape"] == [1, 10]


def test_check_budget_takes_a_module_or_a_source() -> None:
    m = small_net()
    over = cnnscope.check_budget(m, input_size=(3, 32, 32), max_params="100")
    assert not over.ok
    assert cnnscope.check_budget(m, input_size=(1, 3, 32, 32), max_params="1K").ok
    assert cnnscope.check_budget("lenet5", max_params="1M").ok
