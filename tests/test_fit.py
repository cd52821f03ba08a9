"""`fit`: which input sizes let every window fit exactly."""

from __future__ import annotations

import json

import pytest

import cnnscope
from cnnscope.cli.main import main
from cnnscope.errors import UsageError
from cnnscope.learn.fit import misfits, parse_range, scan, scan_dims


def test_7x7_strides() -> None:
    g = cnnscope.load("cs231n-stride")
    res = {r.size: r for r in scan(g, range(5, 14))}
    # stride 2 needs (n − 3) even, stride 3 needs (n − 3) ≡ 0 mod 3: n ≡ 3 (mod 6) → 9 only in 5..13
    assert [n for n, r in res.items() if r.fits] == [9]
    (w,) = [p for p in res[7].problems if p.dim == "H"]
    assert (w.layer, w.remainder, w.lost) == ("stride3", 1, 1)  # (7 − 3) mod 3 = 1


def test_vgg_style_225_loses_a_column() -> None:
    g = cnnscope.load("vgg16")
    res = {r.size: r for r in scan(g, [224, 225])}
    assert res[224].fits  # 224 = 7·2⁵ halves cleanly five times
    assert not res[225].fits  # 225 → (225 − 2) mod 2 = 1 at the first 2×2 pool
    assert res[225].problems[0].lost == 1
    assert res[225].params_change is False  # 225 → 7×7 at the end, like 224


def test_ceil_mode_is_a_partial_window_not_a_loss() -> None:
    g = cnnscope.load("googlenet")
    from cnnscope.analyze.shapes import infer_shapes

    bad = misfits(g, infer_shapes(g))
    # maxpool1 on 112: (112 − 3) mod 2 = 1, ceil_mode keeps a partial window, nothing lost
    assert any(w.layer == "maxpool1" and w.partial and w.lost == 0 for w in bad)


def test_parse_range() -> None:
    assert parse_range("200:260") == (200, 260)
    for bad in ("260:200", "x", "0:5", "1:100000"):
        with pytest.raises(UsageError):
            parse_range(bad)


def test_cli_fit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", "cs231n-stride", "--range", "5:13", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mode"] == "per-dim" and [d["fits"] for d in doc["dims"]] == [[9], [9]]
    assert doc["example"] == [9, 9]
    assert main(["fit", "cs231n-stride", "--range", "5:8"]) == 1  # none fits
    assert main(["fit", "cs231n-stride", "--range", "oops"]) == 2
    assert main(["fit", "cs231n-stride", "--height", "1:x"]) == 2
    assert main(["fit", "cs231n-stride", "--length", "5:9"]) == 2  # a 2-d input has no L dim


def test_rectangular_per_dim(capsys: pytest.CaptureFixture[str]) -> None:
    # vgg16: five 2×2 pools, so a dim fits when it is a multiple of 2⁵ = 32: 224 in 220..230, 320 in 300..340
    args = ["fit", "vgg16", "--height", "220:230", "--width", "300:340", "--format", "json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(d["dim"], d["range"], d["fits"]) for d in doc["dims"]] == [
        ("H", [220, 230], [224]),
        ("W", [300, 340], [320]),
    ]
    assert doc["example"] == [224, 320]  # checked by a full run at 224×320
    w = {s["size"]: s for s in doc["dims"][1]["sizes"]}
    assert w[320]["final"] == 10 and w[320]["input"] == [224, 320]  # 320 / 32 = 10; H held at the spec's 224
    assert w[300]["problems"][0]["dim"] == "W"  # only W problems count in W's scan
    assert main(["fit", "vgg16", "--height", "220:223", "--width", "300:340"]) == 1  # no H fits: no input fits


def test_1d_and_3d_inputs() -> None:
    g1 = cnnscope.load_spec(
        "input: [1, 20]\nlayers:\n"
        "  - {name: conv, type: conv1d, out_channels: 4, kernel_size: 4, stride: 4}\n"
        "  - {name: pool, type: maxpool1d, kernel_size: 3, stride: 3}\n"
    )
    (length,) = scan_dims(g1, [(10, 40)]).dims
    assert length.dim == "L" and length.fits == [12, 24, 36]  # L ≡ 0 (mod 4), then L/4 ≡ 0 (mod 3): L ≡ 0 (mod 12)
    g3 = cnnscope.load_spec(
        "input: [1, 8, 16, 16]\nlayers:\n"
        "  - {name: conv, type: conv3d, out_channels: 4, kernel_size: [2, 3, 3], stride: [2, 3, 3]}\n"
    )
    res = scan_dims(g3, [(6, 10), (12, 20), (12, 20)])
    # D: (D − 2) mod 2 = 0 → even; H, W: (n − 3) mod 3 = 0 → multiples of 3
    assert [(d.dim, d.fits) for d in res.dims] == [("D", [6, 8, 10]), ("H", [12, 15, 18]), ("W", [12, 15, 18])]
    assert res.per_dim and res.example == (8, 15, 15)  # nearest to the spec's 8×16×16 (ties: the smaller)


def test_dims_coupled_by_a_flatten_are_tried_together() -> None:
    g = cnnscope.load_spec(
        "input: [1, 4, 6]\nlayers:\n"
        "  - {name: flat, type: flatten, start_dim: 2}\n"
        "  - {name: conv, type: conv1d, out_channels: 2, kernel_size: 4, stride: 4}\n"
    )
    res = scan_dims(g, [(3, 6), (5, 8)])
    assert not res.per_dim and "`flat`" in res.note
    # the conv sees H·W values: a fit needs H·W ≡ 0 (mod 4)
    good = [r.input for r in res.combos if r.fits]
    assert good == [(h, w) for h in range(3, 7) for w in range(5, 9) if h * w % 4 == 0]
    assert (3, 8) in good and (5, 6) not in good  # 24 = 4·6; 30 = 4·7 + 2
    assert res.example == (4, 6)  # the spec's own size: 24 = 4·6


def test_params_change_is_marked_per_dim() -> None:
    # cs231n-conv: conv (pad 2, same size) → 2×2 pool → flatten → linear: the linear's inputs are 10·(H/2)·(W/2)
    res = scan_dims(cnnscope.load("cs231n-conv"), [(30, 34), (32, 32)])
    h = {r.size: r for r in res.dims[0].results}
    assert [n for n, r in h.items() if r.fits] == [30, 32, 34]  # (n − 2) mod 2 = 0
    assert h[30].params_change and h[34].params_change  # 15·16 ≠ 16·16 and 17·16 ≠ 16·16 inputs to fc
    assert not h[32].params_change and not h[33].params_change  # 33 → floor(31/2) + 1 = 16, like 32
