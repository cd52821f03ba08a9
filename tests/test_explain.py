"""`explain` reproduces the CS231n lecture-5 worked examples, number for number."""

from __future__ import annotations

from pathlib import Path

import cnnscope
from cnnscope.cli.main import main
from cnnscope.explain import LayerExplanation, explain

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


def test_mlp_versus_conv_parameters() -> None:
    hidden = explain(cnnscope.load(str(SPECS / "mlp.yaml")), layer="hidden")[0]
    assert _steps(hidden)["parameters"] == ("(3072 + 1)·128", "393,344")  # 3072·128 + 128 = 393,344
    conv = explain(cnnscope.load(str(SPECS / "conv32.yaml")), layer="conv")[0]
    assert _steps(conv)["parameters"] == ("(3·3·3 + 1)·32", "896")  # 28·32 = 896
    assert round(393_344 / 896) == 439  # the lecture's point: 438.9 ≈ 439× fewer parameters


def test_receptive_field_grows_by_jump() -> None:
    by = {e.name: e for e in explain(cnnscope.load("lenet5"))}
    # conv1 5; pool1 5 + 1·1 = 6, jump 2; conv2 6 + 4·2 = 14; pool2 14 + 1·2 = 16, jump 4
    assert _steps(by["pool1"])["receptive field"] == ("r = 5 + (2 − 1)·1", "6")
    assert _steps(by["conv2"])["receptive field"] == ("r = 6 + (5 − 1)·2", "14")
    assert _steps(by["pool2"])["receptive field"] == ("r = 14 + (2 − 1)·2", "16")
    assert _steps(by["pool2"])["jump"] == ("jump = 2·2", "4")


def test_resnet18_head_rf() -> None:
    rf = explain(cnnscope.load("resnet18"), layer="layer4.1.relu2")[0].values["rf"]
    # the last conv of resnet18 sees 435×435 (a published figure), far more than 224
    assert rf == {"size": [435, 435], "jump": [32, 32], "whole_input": True}


def test_cli_explain() -> None:
    assert main(["explain", "cs231n-conv", "--layer", "conv1"]) == 0
    assert main(["explain", "cs231n-conv", "--layer", "nope"]) == 2
    assert main(["explain", "cs231n-conv", "--format", "json"]) == 0
    assert main(["explain", "cs231n-conv", "--format", "markdown"]) == 0
