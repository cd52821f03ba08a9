"""`explain` reproduces the CS231n lecture-5 worked examples, number for number."""

from __future__ import annotations

import json
import operator
from functools import reduce
from pathlib import Path

import pytest

import cnnscope
from cnnscope.cli.main import main
from cnnscope.learn.explain import LayerExplanation, explain

SPECS = Path(__file__).parent / "explain_specs"


def _steps(e: LayerExplanation) -> dict[str, tuple[str, str]]:
    return {s.what: (s.formula, s.result) for s in e.steps}


def test_cs231n_conv_ten_5x5_filters() -> None:
    (conv1,) = explain(cnnscope.load("cs231n-conv"), layer="conv1")
    s = _steps(conv1)
    assert conv1.output == (1, 10, 32, 32)  # 32×32×3, ten 5×5, stride 1, pad 2 → 32×32×10
    assert s["output H"] == ("(32 − 5 + 2·2)/1 + 1", "32")  # (32 − 5 + 4)/1 + 1 = 32
    assert s["output W"] == ("(32 − 5 + 2·2)/1 + 1", "32")
    assert s["parameters"] == ("(5·5·3 + 1)·10", "760")  # 76·10 = 760
    assert s["MACs"][1] == "768,000"  # 32·32·10 outputs × 75 taps = 768,000
    assert s["receptive field"] == ("r = 1 + (5 − 1)·1", "5")  # one 5×5 window
    # weight sharing: a dense layer 3072 → 10240 needs 3072·10240 + 10240 = 31,467,520
    assert s["fully connected instead"][1] == "31,467,520"
    assert s["weight sharing saves"] == ("31,467,520 / 760", "41,405×")  # 41,404.6 rounded
    assert conv1.values["fc_equivalent_params"] == 3072 * 10240 + 10240


def test_7x7_input_3x3_filter_strides() -> None:
    by = {e.name: e for e in explain(cnnscope.load("cs231n-stride"))}
    # (7 − 3)/1 + 1 = 5 and (7 − 3)/2 + 1 = 3: both fit
    assert _steps(by["stride1"])["output H"] == ("(7 − 3 + 2·0)/1 + 1", "5")
    assert _steps(by["stride2"])["output H"] == ("(7 − 3 + 2·0)/2 + 1", "3")
    assert _steps(by["stride2"])["window fit H"] == ("(7 − 3) mod 2 = 0", "fits")
    # (7 − 3)/3 + 1 = 2.33: does not fit; torch floors to 2, one column is never seen
    f, r = _steps(by["stride3"])["output H"]
    assert f.startswith("floor") and r == "2"
    assert _steps(by["stride3"])["window fit H"] == ("(7 − 3) mod 3 = 1", "1 pixel lost")
    assert by["stride3"].output == (1, 1, 2, 2)


def test_pool_224x224x64_to_112() -> None:
    (pool,) = explain(cnnscope.load(str(SPECS / "pool224.yaml")))
    assert pool.output == (1, 64, 112, 112)  # 224×224×64 → 112×112×64, depth unchanged
    assert _steps(pool)["output H"] == ("(224 − 2)/2 + 1", "112")  # 222/2 + 1 = 112
    assert _steps(pool)["parameters"][1] == "0"


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def test_mlp_versus_conv_parameters() -> None:
    torch = pytest.importorskip("torch")
    hidden = explain(cnnscope.load(str(SPECS / "mlp.yaml")), layer="hidden")[0]
    assert _steps(hidden)["parameters"] == ("(3072 + 1)·128", "393,344")  # 3072·128 + 128 = 393,344
    conv = explain(cnnscope.load(str(SPECS / "conv32.yaml")), layer="conv")[0]
    assert _steps(conv)["parameters"] == ("(3·3·3 + 1)·32", "896")  # 28·32 = 896
    # torch's own count of the two layers (a 32×32×3 image into 128 units, or 32 3×3 filters)
    dense, filters = torch.nn.Linear(3072, 128), torch.nn.Conv2d(3, 32, 3)
    counts = [_int(_steps(e)["parameters"][1]) for e in (hidden, conv)]
    assert counts == [sum(p.numel() for p in m.parameters()) for m in (dense, filters)]
    assert round(counts[0] / counts[1]) == 439  # the lecture's point: 438.9 ≈ 439× fewer parameters


def test_receptive_field_grows_by_jump() -> None:
    by = {e.name: e for e in explain(cnnscope.load("lenet5"))}
    # conv1 5; pool1 5 + 1·1 = 6, jump 2; conv2 6 + 4·2 = 14; pool2 14 + 1·2 = 16, jump 4
    assert _steps(by["pool1"])["receptive field"] == ("r = 5 + (2 − 1)·1", "6")
    assert _steps(by["conv2"])["receptive field"] == ("r = 6 + (5 − 1)·2", "14")
    assert _steps(by["pool2"])["receptive field"] == ("r = 14 + (2 − 1)·2", "16")
    assert _steps(by["pool2"])["jump"] == ("jump = 2·2", "4")


def test_resnet18_head_rf() -> None:
    by = {e.name: e for e in explain(cnnscope.load("resnet18"))}
    # conv1 7 (jump 2); maxpool 7 + 2·2 = 11 (jump 4); layer1: four 3×3 convs, + 2·4 each → 43;
    # layer2 (jump 8 after its first conv): 43 + 2·4 = 51, then + 3·16 → 99; layer3 (jump 16):
    # 99 + 2·8 = 115, + 3·32 → 211; layer4 (jump 32): 211 + 2·16 = 243, + 3·64 → 435, the published figure
    rf = by["layer4.1.relu2"].values["rf"]
    assert (rf["size"], rf["stride"], rf["status"]) == ([435, 435], [32, 32], "ok")
    assert rf["coverage"] == [1.0, 1.0]  # 435 ≥ 224: it covers the input, though no global op has run yet
    assert _steps(by["layer4.1.conv2"])["receptive field"] == ("r = 371 + (3 − 1)·32", "435 (covers the input)")
    # a residual add is the union of its inputs: 11 + 2·4 + 2·4 = 27 from conv2, 11 from the skip
    assert _steps(by["layer1.0.add"])["receptive field"] == ("union of the inputs' fields: 27×27 ∪ 11×11", "27×27")
    # global pooling and everything after it see the whole input, in the analyzer's words
    assert _steps(by["avgpool"])["receptive field"][1] == "whole input"
    assert _steps(by["fc"])["receptive field"][1] == "whole input"
    assert by["fc"].values["rf"]["whole_input"] is True


def _sampled(names: list[str], n: int) -> list[str]:
    """Every layer of a small net; of a large one, about n spread from first to last."""
    step = max(1, len(names) // n)
    return list(dict.fromkeys([*names[::step], names[-1]]))


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "mobilenet_v2", "lenet5", "cs231n-stride"])
def test_explained_fields_are_the_measured_ones(name: str) -> None:
    """The receptive field explain reports for a layer is the one measured by gradients
    (tests/rf_oracle.py), on a one-channel copy of the net (tests/test_zoo_rf.py's thin): its
    size, stride and padding; or, for "whole input", that one unit sees every position its
    inputs' units see together (no window left)."""
    pytest.importorskip("torch")
    from rf_oracle import measure_rf, seen_positions
    from test_zoo_rf import thin

    g = cnnscope.load(name)
    small = thin(g)
    nodes = {n.name: n for n in g.nodes}
    by = {e.name: e.values["rf"] for e in explain(g)}
    assert list(by) == list(nodes)
    measured = 0
    for layer in _sampled(list(by), 12):
        rf = by[layer]
        if rf["whole_input"]:
            inputs = nodes[layer].inputs
            seen = seen_positions(small, {layer: True} | dict.fromkeys(inputs, False))
            union = reduce(operator.or_, (seen[i] for i in inputs))
            assert rf["size"] is None and bool((seen[layer] == union).all()), (name, layer)
        elif rf["collapsed"]:  # a flatten that does not see all of the input: a gradient agrees
            assert not measure_rf(small, layer).whole_input, (name, layer)
        elif rf["status"] == "ok" and not nodes[layer].type.startswith("adaptive"):
            # on an input 4 strides wider than the field, so the centre unit's span is not clipped
            spatial = tuple(r + 4 * j + 8 for r, j in zip(rf["size"], rf["stride"], strict=True))
            m = measure_rf(small, layer, spatial)
            got = {"size": list(m.size), "stride": list(m.stride), "padding": list(m.padding)}
            assert not m.clipped and got == {k: rf[k] for k in got}, (name, layer, m)
        else:
            continue
        measured += 1
    assert measured >= min(len(by), 8), (name, measured)  # not vacuous


def test_whole_input_means_every_input_position() -> None:
    """ "whole input" after a flatten is what a gradient says: stride 3 on 7×7 never reads row and
    column 6, so flat3's unit sees 6×6 (2 windows of 3 at stride 3); flat1 (stride 1) reads all."""
    pytest.importorskip("torch")
    from rf_oracle import measure_rf

    graph = cnnscope.load("cs231n-stride")
    for name, whole, size in (("flat1", True, None), ("flat3", False, [6, 6]), ("out", True, None)):
        (step,) = explain(graph, layer=name)
        assert step.values["rf"]["whole_input"] is whole, name  # what explain says
        assert measure_rf(cnnscope.load("cs231n-stride"), name).whole_input is whole, name  # what a gradient says
        if size is not None:
            assert step.values["rf"]["size"] == size == [(2 - 1) * 3 + 3] * 2


def test_every_worked_step_says_why() -> None:
    (conv1,) = explain(cnnscope.load("cs231n-conv"), layer="conv1")
    for what in ("output H", "parameters", "receptive field", "fully connected instead", "weight sharing saves"):
        assert len(conv1.why.get(what, "")) > 30, what
    assert "one bias" in conv1.why["parameters"]  # the +1 of (5·5·3 + 1)
    assert "every position" in conv1.why["weight sharing saves"]
    hidden = explain(cnnscope.load(str(SPECS / "mlp.yaml")), layer="hidden")[0]
    assert "grows with the input" in hidden.why["parameters"]  # (3072 + 1)·128: the image size is in it
    stride3 = explain(cnnscope.load("cs231n-stride"), layer="stride3")[0]
    assert "rounds down" in stride3.why["output H"]  # floor((7 − 3)/3) + 1 = 2
    relu = explain(cnnscope.load("cs231n-conv"), layer="relu1")[0]
    assert "linear map" in relu.why["output shape"]
    assert "receptive field" not in relu.why  # pointwise: nothing new to explain


def test_cli_explain() -> None:
    assert main(["explain", "cs231n-conv", "--layer", "conv1"]) == 0
    assert main(["explain", "cs231n-conv", "--layer", "nope"]) == 2
    assert main(["explain", "cs231n-conv", "--format", "json"]) == 0
    assert main(["explain", "cs231n-conv", "--format", "markdown"]) == 0
    assert main(["explain", "cs231n-conv", "--no-why"]) == 0


def test_cli_explain_json_has_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "cs231n-conv", "--layer", "conv1", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    steps = {s["what"]: s for s in doc["layers"][0]["steps"]}
    assert steps["parameters"]["result"] == "760" and steps["parameters"]["why"]
