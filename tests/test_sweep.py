"""`sweep` and the exact cost formula. Torch-free: the oracle is the analyzer at each size,
and hand arithmetic written beside the values."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

import pytest

import cnnscope
from cnnscope.analyze.base import analyze
from cnnscope.cli.main import main
from cnnscope.errors import UsageError
from cnnscope.whatif import formula as F
from cnnscope.whatif.sweep import parse_sizes, sweep
from cnnscope.whatif.symbolic import Space, Sym, variables


def at(graph: cnnscope.Graph, size: tuple[int, ...]) -> cnnscope.Graph:
    return dataclasses.replace(graph, input_shape=(graph.input_shape[0], *size))


def truth(graph: cnnscope.Graph, size: tuple[int, ...]) -> dict[str, int]:
    r = analyze(at(graph, size), ["params", "compute", "memory"])
    t = r.totals
    out = {k: t[k] for k in ("params", "macs", "flops", "other_ops_total", "activation_bytes", "training_bytes")}
    out.update({f"other_ops.{c}": v for c, v in t["other_ops"].items()})
    return out


# -- the symbolic integers -------------------------------------------------------------


def test_floor_of_floor_collapses() -> None:
    sp = Space(["H"], [224])
    (h,) = variables(sp)
    # ⌊(⌊(H + 1)/2⌋ + 1)/2⌋ = ⌊(H + 1 + 2)/4⌋ = ⌊(H + 3)/4⌋
    x = ((h + 1) // 2 + 1) // 2
    assert isinstance(x, Sym)
    assert F.legend(sp, F.used_atoms(sp, x.terms)) == ["h1 = ⌊(H + 3)/4⌋"]
    for n in range(-20, 300):
        assert sp.evaluate(x.terms, [n]) == ((n + 1) // 2 + 1) // 2


def test_multiples_are_pulled_out_of_floors() -> None:
    sp = Space(["H"], [10])
    (h,) = variables(sp)
    assert (2 * h + 4) // 2 is not None
    y = (2 * h + 4) // 2  # = H + 2 exactly: no floor left
    assert isinstance(y, Sym) and F.show_terms(sp, y.terms) == "H + 2"
    assert len(sp.atoms) == 1  # only the variable


def test_comparisons_are_guards() -> None:
    sp = Space(["H"], [7])
    (h,) = variables(sp)
    assert (h - 5 >= 1) is True
    assert len(sp.guards) == 1
    assert sp.guards_hold([100]) and not sp.guards_hold([5])


# -- the formula equals the analyzer ----------------------------------------------------


@pytest.mark.parametrize("name", ["resnet50", "lenet5", "alexnet", "mobilenet_v2", "googlenet", "squeezenet1_0"])
def test_formula_is_exact_over_a_range(name: str) -> None:
    g = cnnscope.load(name)
    sizes = [(n, n) for n in range(20, 260, 3)] + [(97, 131), (224, 160), (301, 33)]
    r = sweep(g, sizes)
    valid = [row for row in r.rows if row["status"] == "ok"]
    assert valid, "some size must be valid"
    for row in valid:
        assert row["formula_matches"] is True, row["name"]
        want = truth(g, tuple(row["size"]))
        assert row["macs"] == want["macs"] and row["training_bytes"] == want["training_bytes"]


def test_traced_figures_match_directly() -> None:
    """Independently of sweep(): the trace, evaluated, equals the analyzer at every size."""
    g = cnnscope.load("resnet18")
    t = F.trace(g, (224, 224))
    for n in range(33, 400, 7):
        for m in (n, n + 5):
            got = t.evaluate((n, m))
            assert got is not None
            assert got == {k: got[k] for k in got} and all(got[k] == v for k, v in truth(g, (n, m)).items())


def test_polynomial_on_its_residue_class() -> None:
    """ResNet-50 at H ≡ W ≡ 0 (mod 32): the floors vanish, MACs = a·H·W + d exactly."""
    g = cnnscope.load("resnet50")
    t = F.trace(g, (224, 224))
    lin = F.linear_atoms(t.space, (224, 224))
    assert lin is not None
    assert F.period(lin, 2) == (32, 32)
    poly = F.expand(t.space, t.figures["macs"], lin)
    assert set(poly) == {(1, 1), (0, 0)}  # a·H·W + d: no linear terms on this class
    # d is the fc layer: 2048 inputs × 1000 outputs, whatever the size
    assert poly[(0, 0)] == 2048 * 1000
    for n in range(64, 700, 32):
        for m in (n, n + 64):
            assert F.eval_poly(poly, (n, m)) == Fraction(truth(g, (n, m))["macs"])


def test_hand_formula_cs231n() -> None:
    """cs231n-conv: conv 5×5, 3→10, pad 2 keeps H×W: 10·3·25 = 750 MACs per pixel; max-pool 2
    halves it (⌊H/2⌋·⌊W/2⌋ positions); flatten of 10 channels into 10 outputs: 10·10 = 100 per
    pooled position. MACs(H, W) = 750·H·W + 100·⌊H/2⌋·⌊W/2⌋."""
    g = cnnscope.load("cs231n-conv")
    r = sweep(g, [(n, m) for n in (2, 7, 32, 33) for m in (2, 9, 32)])
    for row in r.rows:
        h, w = row["size"]
        assert row["macs"] == 750 * h * w + 100 * (h // 2) * (w // 2)
        # params: conv (5·5·3 + 1)·10 = 760; fc (10·⌊H/2⌋·⌊W/2⌋ + 1)·10
        assert row["params"] == 760 + (10 * (h // 2) * (w // 2) + 1) * 10
    fig = r.meta["formulas"]["figures"]["macs"]
    assert fig["exact"] == "750·H·W + 100·h1·w1"
    assert r.meta["formulas"]["where"] == ["h1 = ⌊H/2⌋", "w1 = ⌊W/2⌋"]


def test_breakpoints_are_where_the_floor_changes() -> None:
    g = cnnscope.load("cs231n-conv")
    r = sweep(g, [(n, n) for n in range(10, 21)])
    # ⌊H/2⌋ changes at even H
    assert r.meta["formulas"]["breakpoints"]["h1"] == [12, 14, 16, 18, 20]


# -- invalid sizes are rows -------------------------------------------------------------


def test_invalid_size_is_a_row_not_an_abort() -> None:
    g = cnnscope.load("lenet5")  # conv 5×5 valid padding twice with pools: needs H ≥ 16
    r = sweep(g, [(8, 8), (32, 32)])
    bad, good = r.rows
    assert bad["status"] == "invalid" and bad["failed_layer"] and bad["problem"]
    assert good["status"] == "ok" and good["formula_matches"] is True


# -- 1-d and 3-d inputs -------------------------------------------------------------------


def _spec(tmp_path: Path, text: str) -> cnnscope.Graph:
    p = tmp_path / "net.yaml"
    p.write_text(text)
    return cnnscope.load(str(p))


def test_one_d(tmp_path: Path) -> None:
    g = _spec(
        tmp_path,
        """
input: [2, 100]
layers:
  - {type: conv1d, out_channels: 8, kernel_size: 7, stride: 3, padding: 1}
  - relu
  - {type: maxpool1d, kernel_size: 3, stride: 2}
  - {type: conv1d, out_channels: 4, kernel_size: 3}
  - flatten
  - {type: linear, out_features: 5}
""",
    )
    sizes = parse_sizes("5..200/1", 1)
    r = sweep(g, sizes)
    assert any(row["status"] == "invalid" for row in r.rows)
    for row in r.rows:
        if row["status"] == "ok":
            assert row["formula_matches"] is True
            # hand: L1 = ⌊(L + 2 − 7)/3⌋ + 1, L2 = ⌊(L1 − 3)/2⌋ + 1, L3 = L2 − 2
            (n,) = row["size"]
            l1 = (n + 2 - 7) // 3 + 1
            l3 = (l1 - 3) // 2 + 1 - 2
            assert row["macs"] == 8 * l1 * 2 * 7 + 4 * l3 * 8 * 3 + 4 * l3 * 5


def test_three_d(tmp_path: Path) -> None:
    g = _spec(
        tmp_path,
        """
input: [1, 8, 16, 16]
layers:
  - {type: conv3d, out_channels: 4, kernel_size: 3, stride: [1, 2, 2], padding: 1}
  - {type: batchnorm3d}
  - relu
  - {type: maxpool3d, kernel_size: 2}
  - {type: adaptiveavgpool3d, output_size: 1}
  - flatten
  - {type: linear, out_features: 3}
""",
    )
    r = sweep(g, parse_sizes("8x16x16,9x17x33,4x64x48,1x1x1", 3))
    assert r.rows[-1]["status"] == "invalid"
    for row in r.rows[:-1]:
        assert row["status"] == "ok" and row["formula_matches"] is True
    assert r.meta["formulas"]["variables"] == ["D", "H", "W"]


# -- parsing and the CLI --------------------------------------------------------------------


def test_parse_sizes() -> None:
    assert parse_sizes("128,224", 2) == [(128, 128), (224, 224)]
    assert parse_sizes("96..160/32", 2) == [(96, 96), (128, 128), (160, 160)]
    assert parse_sizes("1024x768", 2) == [(1024, 768)]
    assert parse_sizes("224,224", 2) == [(224, 224)]


@pytest.mark.parametrize("text", ["abc", "224,x", "300..100", "1..10/0", "", "10x10x10", "0"])
def test_parse_sizes_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_sizes(text, 2)


@pytest.mark.parametrize("sizes", ["abc", "512..96/32", "12x"])
def test_cli_bad_sizes_exit_2(sizes: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "resnet18", "--sizes", sizes]) == 2
    err = capsys.readouterr().err
    assert "error[bad-option]" in err and "Traceback" not in err


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "resnet18", "--sizes", "16,224,1024x768", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in data["layers"]] == ["16x16", "224x224", "1024x768"]
    assert data["formulas"]["available"] is True
    assert data["layers"][1]["macs"] == 1_814_073_344  # torchvision's resnet18 GFLOPS, 1.814 G


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_cli_formats(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "lenet5", "--sizes", "8,32,64", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "64x64" in out
    if fmt != "csv":
        assert "MACs(H, W) =" in out and "invalid" in out


def test_cli_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "s.png"
    assert main(["sweep", "lenet5", "--sizes", "32..96/16", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000


def test_piecewise_where_a_guard_flips(tmp_path: Path) -> None:
    """A ceil-mode pool with kernel 1, stride 2: PyTorch's out = ⌈(L − 1)/2⌉ + 1, minus one when
    the last window would start past the input, (out − 1)·2 ≥ L, which holds exactly for even L.
    So out = ⌊L/2⌋ + (L mod 2) = ⌈L/2⌉ — computed through a guard whose answer flips with the
    parity of L: two pieces, each exact on its sizes."""
    g = _spec(
        tmp_path,
        """
input: [1, 20]
layers:
  - {type: maxpool1d, kernel_size: 1, stride: 2, ceil_mode: true}
  - {type: conv1d, out_channels: 3, kernel_size: 1}
""",
    )
    r = sweep(g, parse_sizes("1..60", 1))
    assert r.meta["formulas"]["pieces"] == 2
    for row in r.rows:
        (n,) = row["size"]
        assert row["formula_matches"] is True
        assert row["macs"] == 3 * ((n + 1) // 2)  # 3 output channels × ⌈L/2⌉ positions × 1 input channel
