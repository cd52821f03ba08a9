"""The CLI's single error boundary: every way out gives the documented exit code and no
traceback (exit codes: 0 ok, 1 violated, 2 bad input or usage, 3 internal error, 130 Ctrl-C)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnnscope.cli import main as cli_main
from cnnscope.cli.main import main


def test_no_arguments_prints_help_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "Usage" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("cnnscope ")


@pytest.mark.parametrize(
    "argv",
    [["shapes"], ["shapes", "lenet5", "--bogus"], ["nosuchcommand"], ["shapes", "lenet5", "--batch", "x"]],
)
def test_usage_errors_exit_2_without_traceback(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


@pytest.mark.parametrize("argv", [["shapes", "lenet5", "--batch", "0"], ["shapes", "lenet5", "--format", "xml"]])
def test_bad_option_values_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error[")


def _raise(exc: BaseException) -> None:
    raise exc


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (RuntimeError("boom"), 3, "internal error: RuntimeError: boom"),
        (KeyboardInterrupt(), 130, ""),  # typer turns Ctrl-C into exit code 130 itself
        (RecursionError(), 2, "error[too-deep]"),
        (MemoryError(), 2, "error[too-large]"),
    ],
)
def test_unexpected_exceptions_become_one_line(
    exc: BaseException, code: int, text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CNNSCOPE_TRACEBACK", raising=False)
    monkeypatch.setattr("cnnscope.cli.common.load_graph", lambda *a, **k: _raise(exc))
    assert main(["shapes", "lenet5"]) == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_traceback_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNSCOPE_TRACEBACK", "1")
    monkeypatch.setattr("cnnscope.cli.common.load_graph", lambda *a, **k: _raise(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        main(["shapes", "lenet5"])


def test_broken_pipe_is_quiet() -> None:
    # `cnnscope ... | head -1` must not print a BrokenPipeError traceback
    p = subprocess.run(
        f"{sys.executable} -m cnnscope shapes resnet152 --format json | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.stdout.strip() == "{"
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr


def test_console_entry_point_exits_with_main_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["cnnscope", "shapes", "nosuchspec"])
    with pytest.raises(SystemExit) as info:
        cli_main.entry()
    assert info.value.code == 2


def test_the_command_table_matches_what_the_modules_register() -> None:
    import cnnscope.cli as cli

    cli.load()  # every command module
    registered = {
        (c.name or c.callback.__name__).replace("_", "-"): c.callback.__module__.rsplit(".", 1)[-1]
        for c in cli.app.registered_commands
        if c.callback is not None
    }
    assert registered == cli.COMMANDS


def test_defined_family_members_are_frozen_dataclasses() -> None:
    import dataclasses

    from cnnscope.frontends.yaml.loader import make_layer
    from cnnscope.layers import lookup

    cls = lookup("maxpool2d")
    layer = make_layer(cls, {"kernel_size": 3})
    assert dataclasses.is_dataclass(layer)
    assert [f.name for f in dataclasses.fields(layer)][:2] == ["trainable", "kernel_size"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.kernel_size = (5, 5)  # type: ignore[misc]
    assert layer == make_layer(cls, {"kernel_size": [3, 3]}) and hash(layer) == hash(
        make_layer(cls, {"kernel_size": 3})
    )
    assert layer != make_layer(lookup("avgpool2d"), {"kernel_size": 3})
    assert repr(layer).startswith("MaxPool2d(")


@pytest.mark.parametrize(
    ("module", "extra"), [("torch", "torch"), ("torchvision", "torchvision"), ("matplotlib", "plot")]
)
def test_a_missing_optional_dependency_names_its_extra(
    module: str, extra: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(*a: object, **k: object) -> None:
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    monkeypatch.setattr("cnnscope.cli.common.load_graph", missing)
    assert main(["shapes", "lenet5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error[missing-extra]") and f"cnnscope[{extra}]" in err and "Traceback" not in err


def test_a_missing_module_that_is_no_extra_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CNNSCOPE_TRACEBACK", raising=False)

    def missing(*a: object, **k: object) -> None:
        raise ModuleNotFoundError("No module named 'nothing_like_it'", name="nothing_like_it")

    monkeypatch.setattr("cnnscope.cli.common.load_graph", missing)
    assert main(["shapes", "lenet5"]) == 3
    assert "internal error" in capsys.readouterr().err


def test_a_misspelt_command_is_suggested_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shape", "lenet5"]) == 2
    err = capsys.readouterr().err
    assert err.count("Did you mean 'shapes'?") == 1
