"""The commands whose output moved into views (memory, --fit-memory, reconcile, rf, shift,
sweep) in every format: the csv and json they write, parsed, against figures worked out here
by hand or by torch-free arithmetic on the specs, never against cnnscope's own output."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from cnnscope.cli.main import main
from cnnscope.render.formats import FORMATS

# lenet5 (specs/lenet5.yaml): 1×32×32 -> conv1 5×5 (6) -> pool 2 -> conv2 5×5 (16) -> pool 2 -> fc
LENET_CONV1_RF = [5, 5]  # one 5×5 window
LENET_POOL1_RF = [6, 6]  # 5 + (2 − 1)·1
LENET_CONV2_RF = [14, 14]  # 6 + (5 − 1)·2
# lenet5's parameters: conv1 (5·5·1 + 1)·6 = 156, conv2 (5·5·6 + 1)·16 = 2,416,
# fc1 (400 + 1)·120 = 48,120, fc2 (120 + 1)·84 = 10,164, fc3 (84 + 1)·10 = 850
LENET_PARAMS = 156 + 2_416 + 48_120 + 10_164 + 850  # 61,706

COMMANDS = [
    ["memory", "lenet5"],
    ["memory", "lenet5", "--fit-memory", "1GiB"],
    ["reconcile", "lenet5", "--params", "61706"],
    ["rf", "lenet5"],
    ["shift", "lenet5"],
    ["sweep", "lenet5", "--sizes", "32,64"],
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: "-".join(a[:3]))
def test_every_format(argv: list[str], fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run([*argv, "--format", fmt], capsys)
    assert rc == 0 and "Traceback" not in err and "internal error" not in err, err
    if fmt == "json":
        assert isinstance(json.loads(out)["schema_version"], int)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert rows and all(len(r) == len(rows[0]) for r in rows)  # rectangular, as csv.writer writes it


def _csv(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


def test_rf_csv_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["rf", "lenet5", "-f", "csv"], capsys)
    by = {r["name"]: r for r in _csv(out)}
    assert by["conv1"]["rf_size"] == "x".join(map(str, LENET_CONV1_RF))
    assert by["pool1"]["rf_size"] == "x".join(map(str, LENET_POOL1_RF))
    assert by["conv2"]["rf_size"] == "x".join(map(str, LENET_CONV2_RF))
    assert by["conv2"]["rf_stride"] == "2x2"  # behind one pool of stride 2
    _, out, _ = _run(["rf", "lenet5", "-f", "json"], capsys)
    rows = {r["name"]: r for r in json.loads(out)["layers"]}
    assert rows["conv2"]["rf"]["size"] == LENET_CONV2_RF


def test_memory_csv_and_training_table(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["memory", "lenet5", "-f", "csv"], capsys)
    by = {r["name"]: r for r in _csv(out)}
    assert "total" not in by  # the csv holds layer rows only
    assert int(by["conv1"]["activation_bytes"]) == 6 * 28 * 28 * 4  # 6 maps of 28×28 float32
    _, out, _ = _run(["memory", "lenet5", "-f", "markdown", "--optimizer", "sgd"], capsys)
    assert "| parameters | 241.04 KiB |" in out  # 61,706 params × 4 B = 246,824 B = 241.04 KiB
    assert 4 * LENET_PARAMS == 246_824


def test_fit_memory_csv_rows_add_up(capsys: pytest.CaptureFixture[str]) -> None:
    limit = 2**30
    _, out, _ = _run(["memory", "lenet5", "--fit-memory", "1GiB", "--inference", "-f", "csv"], capsys)
    rows = _csv(out)
    parts = {r["part"]: int(r["bytes"]) for r in rows}
    batch = int(rows[0]["batch"])
    assert all(int(r["batch"]) == batch for r in rows)
    assert parts["parameters"] == 4 * LENET_PARAMS
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total") <= limit
    _, out, _ = _run(["memory", "lenet5", "--fit-memory", "1GiB", "--inference", "-f", "json"], capsys)
    doc = json.loads(out)
    assert doc["max_batch"] == batch and doc["next_bytes"] > limit


def test_reconcile_csv_is_quoted_by_csv_writer(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["reconcile", "lenet5", "--params", "61706", "-f", "csv"], capsys)
    rows = _csv(out)
    assert rows and int(rows[0]["value"]) == LENET_PARAMS and float(rows[0]["distance"]) == 0.0
    assert list(rows[0]) == ["value", "distance", "size", "batch", "tools", "convention"]
    # torchvision's resnet18: 1,814,073,344 MACs; fvcore adds BN (2 per element) and pooling
    _, out, _ = _run(["reconcile", "resnet18", "--flops", "1.819G", "-f", "csv"], capsys)
    rows = _csv(out)
    assert all(len(r) == 6 for r in rows) and any("," in r["convention"] for r in rows)  # commas stay in one cell
    assert any("fvcore" in r["tools"] for r in rows)


def test_sweep_csv_macs_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["sweep", "lenet5", "--sizes", "32", "-f", "csv"], capsys)
    (row,) = _csv(out)
    # conv1 28·28·6·25, conv2 10·10·16·150, fc 400·120 + 120·84 + 84·10
    macs = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    assert int(row["macs"]) == macs


def test_shift_csv_lattice(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(["shift", "lenet5", "-f", "csv"], capsys)
    by = {r["name"]: r for r in _csv(out)}
    assert by["conv1"]["s_lattice"] == "1x1" and by["pool1"]["s_lattice"] == "2x2"  # stride products


def test_the_json_path_never_imports_rich() -> None:
    for argv in COMMANDS:
        code = (
            "import sys; from cnnscope.cli.main import main; "
            f"rc = main({[*argv, '-f', 'json']!r}); assert 'rich' not in sys.modules, 'rich imported'; sys.exit(rc)"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, (argv, proc.stderr)
