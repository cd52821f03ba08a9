"""One vocabulary across commands: --dtype spellings, --format values, SOURCE help, completion,
and the beginner diagnostics (channels-last input, a missing flatten, builtin: locations)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cnnscope.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("spelling", ["bf16", "bfloat16", "BF16"])
@pytest.mark.parametrize("command", ["memory", "summary", "sweep"])
def test_dtype_aliases_everywhere(command: str, spelling: str, capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--sizes", "224"] if command == "sweep" else []
    rc, _out, err = run([command, "resnet18", "--dtype", spelling, "--format", "json", *extra], capsys)
    assert rc == 0, err


def test_dtype_aliases_in_check(capsys: pytest.CaptureFixture[str]) -> None:
    for spelling in ("half", "fp16", "float16"):
        rc, _, err = run(["check", "lenet5", "--max-params", "1M", "--dtype", spelling], capsys)
        assert rc == 0, err
    rc, _, err = run(["memory", "lenet5", "--dtype", "int3"], capsys)
    assert rc == 2 and "bf16" in err


def test_memory_figures_agree_across_spellings(capsys: pytest.CaptureFixture[str]) -> None:
    docs = []
    for spelling in ("bf16", "bfloat16", "half", "float16"):
        _rc, out, _ = run(["memory", "lenet5", "--dtype", spelling, "-f", "json"], capsys)
        docs.append(json.loads(out)["totals"]["param_bytes"])
    assert len(set(docs)) == 1


# every table-producing command speaks these four (check, diff and draw say what they speak)
TABLE_COMMANDS = [
    ["shapes", "lenet5"],
    ["params", "lenet5"],
    ["summary", "lenet5"],
    ["flops", "lenet5"],
    ["memory", "lenet5"],
    ["rf", "lenet5"],
    ["fit", "lenet5", "--range", "32:33"],
    ["explain", "lenet5", "--layer", "conv1"],
    ["lint", "lenet5"],
    ["zoo"],
    ["layers"],
]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
@pytest.mark.parametrize("argv", TABLE_COMMANDS, ids=lambda a: a[0])
def test_every_table_command_speaks_four_formats(argv: list[str], fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run([*argv, "--format", fmt], capsys)
    assert rc in (0, 1), err
    assert out.strip()
    if fmt == "json":
        json.loads(out)
    assert not [line for line in out.splitlines() if line != line.rstrip()]


def test_every_source_help_says_what_a_source_is(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("shapes", "summary", "flops", "rf", "explain", "lint", "fit", "verify", "export"):
        rc, out, _ = run([command, "--help"], capsys)
        assert rc == 0
        text = " ".join(out.split())
        assert "built-in spec name" in text and "resnet18" in text, command


def _complete(words: str, cword: int) -> list[str]:
    env = {
        **os.environ,
        "_CNNSCOPE_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    code = "import sys; from cnnscope.cli.main import main; sys.exit(main([]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout.split()


def test_completion_of_commands_sources_types_and_formats() -> None:
    assert "summary" in _complete("cnnscope sum", 1)
    assert {"resnet18", "resnet50"} <= set(_complete("cnnscope summary res", 2))
    assert "conv2d" in _complete("cnnscope layers conv", 2)
    assert set(_complete("cnnscope flops lenet5 --format m", 4)) == {"markdown"}
    assert "bf16" in _complete("cnnscope memory lenet5 --dtype b", 4)


def test_install_completion_exists(capsys: pytest.CaptureFixture[str]) -> None:
    _rc, out, _ = run(["--help"], capsys)
    assert "--install-completion" in out and "--show-completion" in out


def test_channels_last_input_gets_a_hint(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["shapes", "lenet5", "--input", "32,32,1"], capsys)
    assert rc == 2
    assert "channels-last" in err and "[1, 32, 32]" in err


def test_builtin_locations_are_not_machine_paths(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["shapes", "lenet5", "--input", "1,4,4"], capsys)
    assert rc == 2
    assert "--> builtin:lenet5:" in err


def test_missing_flatten_is_linted(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    spec = Path(str(tmp_path)) / "net.yaml"
    spec.write_text(
        "input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}\n"
        "  - relu\n  - {type: linear, out_features: 10}\n"
    )
    rc, out, _ = run(["lint", str(spec), "--select", "linear-on-feature-map"], capsys)
    assert rc == 1 and "flatten" in out
    # channels last on purpose (a permute first): the linear mixes channels, as intended
    spec.write_text(
        "input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}\n"
        "  - {type: permute, dims: [0, 2, 3, 1]}\n  - {type: linear, out_features: 10}\n"
    )
    rc, out, err = run(["lint", str(spec), "--select", "linear-on-feature-map"], capsys)
    assert rc == 0, out + err
