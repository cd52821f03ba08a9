"""The CLI's output, pinned by golden files and checked by invariants.

Goldens live in tests/golden/, one per test; regenerate them with ``pytest
--update-goldens`` and review the diff. tests/goldens.py compares them and holds every one to
an invariant that does not come from our own output: each output shape is torch's on a real
forward pass, each count is torch's numel(), and they add up to the published or
hand-computed total.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from goldens import check_golden

from cnnscope.cli.main import main

SPECS = ["cs231n-conv", "lenet5", "resnet18"]
FORMATS = {"json": "json", "csv": "csv", "markdown": "md", "table": "txt"}
EXT = {"json": "json", "csv": "csv", "markdown": "md", "table": "txt"}

EXPECTED_OUTPUT = {"resnet18": [1, 1000], "lenet5": [1, 10], "cs231n-conv": [1, 10]}
SHAPE_KEEPING = {"relu", "batchnorm2d", "add", "dropout", "identity"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check_shapes_chain(doc: dict[str, Any], spec: str, batch: int = 1) -> None:
    seen: dict[str, list[int]] = {"input": doc["input_shape"]}
    for row in doc["layers"]:
        for i in row["inputs"]:
            assert i in seen, f"{row['name']} reads {i} before it exists"
        shape = row["output_shape"]
        assert shape[0] == batch and all(d >= 1 for d in shape)
        if row["type"] in SHAPE_KEEPING:
            assert shape == seen[row["inputs"][0]], row["name"]
        if row["type"] == "flatten":
            src = seen[row["inputs"][0]]
            assert shape[1] == src[1] * src[2] * src[3], row["name"]
        seen[row["name"]] = shape
    assert doc["layers"][-1]["output_shape"] == [batch, *EXPECTED_OUTPUT[spec][1:]]


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("command", ["shapes", "params"])
def test_golden(command: str, spec: str, fmt: str, capsys: pytest.CaptureFixture[str], update_goldens: bool) -> None:
    code, out, err = run([command, spec, "--format", fmt], capsys)
    assert code == 0, err
    check_golden(f"{command}-{spec}.{EXT[fmt]}", out, update_goldens)  # and its invariant
    if fmt == "json":
        check_shapes_chain(json.loads(out), spec)


def _json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run([*argv, "--format", "json"], capsys)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_batch_is_in_every_shape(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(["shapes", "resnet18", "--batch", "8"], capsys)
    assert doc["input_shape"] == [8, 3, 224, 224]
    check_shapes_chain(doc, "resnet18", batch=8)
    assert doc["layers"][-1]["output_shape"] == [8, 1000]


def test_input_override(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _json(["params", "lenet5", "--input", "1,36,36"], capsys)
    rows = {r["name"]: r for r in doc["layers"]}
    # by hand: 36 - 5 + 1 = 32, pooled 16; 16 - 5 + 1 = 12, pooled 6; 16·6·6 = 576 features
    assert rows["conv1"]["output_shape"] == [1, 6, 32, 32]
    assert rows["pool2"]["output_shape"] == [1, 16, 6, 6]
    assert rows["fc1"]["params"] == 576 * 120 + 120
    assert doc["input_shape"] == [1, 1, 36, 36]


def test_layers_lists_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    from cnnscope.layers import registry

    code, out, _ = run(["layers", "--format", "json"], capsys)
    assert code == 0
    assert {c["type"] for c in json.loads(out)["layers"]} == set(registry())
    code, out, _ = run(["layers"], capsys)
    assert code == 0
    for name in ("conv2d", "batchnorm2d", "adaptiveavgpool2d", "concat"):
        assert re.search(rf"\b{name}\b", out)


def test_layers_one_type(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["layers", "conv2d"], capsys)
    assert code == 0
    for field in ("out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"):
        assert field in out
    code, out, _ = run(["layers", "conv2d", "--format", "json"], capsys)
    fields = {f["name"] for f in json.loads(out)["layers"][0]["fields"]}
    assert "out_channels" in fields and "in_channels" not in fields  # inferred, never a field
    code, out, err = run(["layers", "conv2", "--format", "json"], capsys)
    assert code == 2 and out == "" and err.startswith("error[unknown-layer]") and "conv2d" in err


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (["shapes", "lenet5", "--format", "yaml"], "bad-option"),
        (["params", "lenet5", "-f", "jsno"], "bad-option"),
        (["shapes", "lenet5", "--input", "3,a,32"], "bad-input-shape"),
        (["shapes", "lenet5", "--input", "0,32,32"], "bad-input-shape"),
        (["shapes", "lenet5", "--input", "1,2,3,4,5"], "bad-input-shape"),
        (["shapes", "lenet5", "--batch", "0"], "bad-option"),
        (["shapes", "no-such-spec"], "source-not-found"),
        (["shapes", "lenet5", "--input", "1,4,4"], "shape-too-small"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(f"error[{kind}]"), err
    assert "Traceback" not in err
