"""End-to-end smoke: the built-in specs load and give the published totals."""

from __future__ import annotations

import cnnscope


def test_resnet18_params_match_torchvision() -> None:
    # torchvision.models.resnet18: 11,689,512 parameters (its published figure)
    r = cnnscope.analyze(cnnscope.load("resnet18"), ["params"])
    assert r.totals["params"] == 11_689_512


def test_lenet5_params_by_hand() -> None:
    expected = (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16 + (400 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10
    assert expected == 61_706
    r = cnnscope.analyze(cnnscope.load("lenet5"), ["params"])
    assert r.totals["params"] == expected


def test_cs231n_conv1() -> None:
    r = cnnscope.analyze(cnnscope.load("cs231n-conv"), ["params"])
    conv1 = r.row("conv1")
    assert conv1["output_shape"] == [1, 10, 32, 32]  # (32 - 5 + 2*2)/1 + 1 = 32
    assert conv1["params"] == (5 * 5 * 3 + 1) * 10 == 760
