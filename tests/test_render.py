"""render/: the unit formatters (the one place numbers are written out) and the formats."""

from __future__ import annotations

import csv
import io
import json

import pytest

import cnnscope
from cnnscope.cli.main import main
from cnnscope.render import to_csv, to_json, to_markdown
from cnnscope.render.units import count, dims, fmt, get_path, ms, nbytes, percent, shape, si


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (11_689_512, "11,689,512"), (None, "–"), (1.5, "1.50")],
)
def test_count(value: object, text: str) -> None:
    assert count(value) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1_814_073_344, "MAC", "1.81 GMAC"),  # 1,814,073,344 / 10**9 = 1.814...
        (3_628_146_688, "FLOP", "3.63 GFLOP"),
        (25_557_032, "", "25.56 M"),
        (1_500, "op", "1.50 Kop"),
        (12, "MAC", "12 MAC"),
        (2 * 10**12, "FLOP/s", "2.00 TFLOP/s"),
    ],
)
def test_si(value: int, unit: str, text: str) -> None:
    assert si(value, unit) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(512, "512 B"), (3 * 2**20 + 2**19, "3.50 MiB"), (2**30, "1.00 GiB"), (1024, "1.00 KiB"), (None, "–")],
)
def test_nbytes(value: int | None, text: str) -> None:
    assert nbytes(value) == text


def test_small_formatters() -> None:
    assert shape([1, 64, 112, 112]) == "1×64×112×112"
    assert dims([212, 212]) == "212×212" and dims("whole input") == "whole input" and dims(7) == "7"
    assert dims([2.5, 2.0]) == "2.5×2"
    assert percent(0.0654) == "6.5%" and percent(None) == "–"
    assert ms(0.25) == "250.0 µs" and ms(12.3456) == "12.346 ms"
    assert fmt(["a", "b"], "text") == "a, b" and fmt(None, "text") == ""
    assert fmt(3, "no-such-unit") == "3"
    assert get_path({"rf": {"size": [3, 3]}}, "rf.size") == [3, 3]
    assert get_path({"rf": None}, "rf.size") is None


@pytest.fixture(scope="module")
def report() -> cnnscope.Report:
    return cnnscope.analyze(cnnscope.load("lenet5"), ["params", "compute"])


def test_json_is_one_line_per_layer_and_parses(report: cnnscope.Report) -> None:
    text = to_json(report)
    data = json.loads(text)
    assert data["schema_version"] == 1
    assert len(data["layers"]) == 12
    layer_lines = [line for line in text.splitlines() if line.startswith('    {"name"')]
    assert len(layer_lines) == 12


def test_csv_has_a_column_per_report_column(report: cnnscope.Report) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0] == [c.key for c in report.columns]
    assert len(rows) == 1 + 12
    by_name = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_name["conv1"]["output_shape"] == "1x6x28x28"  # (32 − 5)/1 + 1 = 28
    assert by_name["conv1"]["params"] == str((5 * 5 * 1 + 1) * 6)


def test_markdown_table_totals_and_figures(report: cnnscope.Report) -> None:
    md = to_markdown(report)
    assert md.startswith("### lenet5")
    assert "| **total** |" in md and "**61,706**" in md  # LeNet-5: 61,706 parameters
    assert "FLOPs (= 2 × MACs)" in md


def test_csv_markdown_and_table_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", "cs231n-conv", "-f", "csv"]) == 0
    assert capsys.readouterr().out.startswith("name,type,output_shape,params")
    assert main(["summary", "cs231n-conv", "-f", "markdown"]) == 0
    assert "| conv1 |" in capsys.readouterr().out


@pytest.mark.parametrize("fmt_name", ["table", "json", "csv", "markdown"])
def test_layers_command_in_every_format(fmt_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layers", "-f", fmt_name]) == 0
    out = capsys.readouterr().out
    assert "conv2d" in out and "adaptiveavgpool2d" in out
    if fmt_name == "json":
        types = {t["type"] for t in json.loads(out)}
        assert types == set(__import__("cnnscope.layers", fromlist=["registry"]).registry())


def test_layers_command_one_type_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layers", "conv2d"]) == 0
    out = capsys.readouterr().out
    assert "kernel_size" in out and "required" in out
    assert main(["layers", "conv2"]) == 2
    assert "did you mean" in capsys.readouterr().err
