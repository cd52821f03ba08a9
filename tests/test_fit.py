"""`fit`: which input sizes let every window fit exactly."""

from __future__ import annotations

import json

import pytest

import cnnscope
from cnnscope.cli.main import main
from cnnscope.errors import UsageError
from cnnscope.fit import misfits, parse_range, scan


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
    assert doc["fits"] == [9]
    assert main(["fit", "cs231n-stride", "--range", "5:8"]) == 1  # none fits
    assert main(["fit", "cs231n-stride", "--range", "oops"]) == 2
