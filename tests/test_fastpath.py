"""The CLI's fast path (cnnscope/cli/fastpath.py) against typer's own parse: for every command
it takes, the values it passes are the ones typer passes, or it declines; outputs, errors and
exit codes are byte for byte typer's; and it imports neither typer nor click."""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import io
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnnscope
import cnnscope.cli as cli
from cnnscope.cli import fastpath
from cnnscope.cli.app import _for_typer, app
from cnnscope.cli.main import main
from cnnscope.errors import CnnscopeError

cli.load()  # every command module
COMMANDS = {c.command_name: c for c in app.registered_commands}
FAST = sorted(n for n, c in COMMANDS.items() if fastpath.specs_of(c.callback) is not None)
ANALYTIC = ("shapes", "params", "summary", "flops", "memory", "rf", "lint", "explain")


def test_the_analytic_commands_take_the_fast_path() -> None:
    assert set(ANALYTIC) <= set(FAST)


def _typer_values(name: str, argv: list[str]) -> tuple[str, Any]:
    """What typer passes the command ``name`` for ``argv``: ("ok", kwargs) or ("error", exc)."""
    import typer

    info = COMMANDS[name]
    copy = _for_typer(info.callback)
    got: list[dict[str, Any]] = []

    def recorder(**kwargs: Any) -> None:
        got.append(kwargs)

    recorder.__signature__ = inspect.signature(copy)  # type: ignore[attr-defined]
    recorder.__annotations__ = copy.__annotations__
    t = typer.Typer(context_settings={"help_option_names": ["-h", "--help"]})
    t.callback()(lambda: None)
    t.command(name)(recorder)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rv = t([name, *argv], standalone_mode=False, prog_name="cnnscope")
    except Exception as exc:
        return "error", exc
    return ("ok", got[0]) if got else ("exit", rv)


def _fast_values(name: str, argv: list[str]) -> tuple[str, Any] | None:
    specs = fastpath.specs_of(COMMANDS[name].callback)
    assert specs is not None
    parsed = fastpath.parse(specs, argv)
    if parsed is None:
        return None
    values, order = parsed
    try:
        if not fastpath._callbacks(specs, values, order):
            return None
    except CnnscopeError as exc:
        return "error", exc
    return "ok", values


ODD = st.sampled_from(
    [
        *("", "=", "--", "-", "-h", "--help", "-fjson", "--bogus", "-3", "+3", "007", "1_0", " 2", "٣"),
        *("1e3", ".5", "5.", "24e", "-x", "a,b", "inf"),
    ]
)
PLAIN: dict[type, st.SearchStrategy[str]] = {
    str: st.sampled_from(["resnet18", "lenet5", "json", "csv", "table", "3,32,32", "3x64x64", "bf16", "sgd", "conv1"]),
    int: st.integers(-2, 99).map(str),
    float: st.sampled_from(["0.5", "1", "2.25", "1e-3", "3."]),
}


def _value(draw: st.DrawFn, type_: type) -> str:
    if draw(st.integers(0, 11)) == 0:
        return draw(ODD)
    return draw(PLAIN.get(type_, PLAIN[str]))


@st.composite
def command_lines(draw: st.DrawFn, name: str) -> list[str]:
    """Command lines for ``name``: mostly well formed, with odd values and tokens mixed in."""
    specs = fastpath.specs_of(COMMANDS[name].callback)
    assert specs is not None
    tokens: list[list[str]] = []
    for s in specs:
        if s.argument:
            count = draw(st.sampled_from([0, 1, 1, 2, 3])) if s.multiple else int(draw(st.integers(0, 9)) > 0)
            tokens.extend([_value(draw, str if s.type is not int else int)] for _ in range(count))
            continue
        repeats = [0, 1, 2] if s.multiple else [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2]  # twice: typer's
        for _ in range(draw(st.sampled_from(repeats))):
            opt = draw(st.sampled_from([*s.opts, *s.off]))
            if s.flag:
                tokens.append([opt] if draw(st.integers(0, 9)) else [f"{opt}=1"])
                continue
            value = _value(draw, s.type)
            joined = opt.startswith("--") and draw(st.booleans())
            tokens.append([f"{opt}={value}"] if joined else ([opt, value] if draw(st.integers(0, 19)) else [opt]))
    if draw(st.integers(0, 9)) == 0:
        tokens.append([draw(ODD)])  # a stray token
    order = draw(st.permutations(range(len(tokens))))
    return [t for k in order for t in tokens[k]]


@pytest.mark.parametrize("name", FAST)
@given(data=st.data())
def test_what_the_fast_path_reads_is_what_typer_passes(name: str, data: st.DataObject) -> None:
    argv = data.draw(command_lines(name))
    fast = _fast_values(name, argv)
    if fast is None:  # declined: typer runs the command
        return
    typer_kind, typer_value = _typer_values(name, argv)
    kind, value = fast
    if kind == "error":  # a callback refused the value, before anything ran
        assert typer_kind == "error" and type(typer_value) is type(value) and str(typer_value) == str(value)
        return
    assert (typer_kind, typer_value) == ("ok", value), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", "resnet18", "-f", "json"],
        ["summary", "resnet18", "--format=csv", "--dtype", "bf16", "--optimizer", "sgd"],
        ["shapes", "lenet5"],
        ["params", "-f", "markdown", "lenet5", "-b", "4"],
        ["flops", "lenet5", "--input", "1,28,28", "-f", "json"],
        ["memory", "resnet18", "--fit-memory", "8GiB", "--inference"],
        ["rf", "lenet5", "-f", "json"],
        ["lint", "lenet5", "-f", "json"],
        ["lint", "--list-rules"],
        ["explain", "lenet5", "-l", "conv1", "--no-why"],
        ["check", "lenet5", "cs231n-conv", "--max-params", "1M", "-f", "json"],  # a list argument
        ["check", "lenet5", "--max-params", "10k", "cs231n-conv"],  # options between its values
        ["summary", "resnet18", "-i", "3,32,32", "-i", "3,64,64"],  # refused by the command, located
        ["shapes", "lenet5", "--batch", "0"],  # refused by --batch's callback
        ["shapes", "lenet5", "--batch", "x"],  # click's usage error: typer's
        ["shapes", "nosuchspec"],
        ["shapes", "lenet5", "--format", "xml"],
        ["summary", "lenet5", "--dtype", "fp64"],
        ["shapes"],
        ["nosuchcommand"],
        ["--version"],
        ["-V"],
        ["-V", "shapes", "lenet5"],
    ],
)
def test_output_and_exit_code_are_typers(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _run(argv)
    monkeypatch.setattr(app, "fast", lambda args: None)
    assert fast == _run(argv)


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _raise(exc: BaseException) -> Any:
    raise exc


@pytest.mark.parametrize(
    "exc",
    [KeyboardInterrupt(), EOFError(), SystemExit(3), BrokenPipeError(), RuntimeError("boom"), MemoryError()],
    ids=lambda e: type(e).__name__,
)
def test_what_a_command_raises_ends_as_under_typer(exc: BaseException, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CNNSCOPE_TRACEBACK", raising=False)
    monkeypatch.setattr("cnnscope.cli.common.load_graph", lambda *a, **k: _raise(exc))
    monkeypatch.setattr("cnnscope.cli.main._silence_stdout", lambda: None)
    fast = _run(["shapes", "lenet5"])
    monkeypatch.setattr(app, "fast", lambda args: None)
    assert fast == _run(["shapes", "lenet5"])


def test_the_fast_path_imports_neither_typer_nor_click() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from cnnscope.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['summary', 'resnet18', '-f', 'json']) == 0\n"
        "    assert main(['--version']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'click', 'rich', 'torch')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_version_printed_is_the_installed_one() -> None:
    assert importlib.metadata.version("cnnscope") == cnnscope.__version__
    assert _run(["--version"]) == (0, f"cnnscope {cnnscope.__version__}\n", "")


def test_an_option_record_in_a_default_is_refused() -> None:
    from cnnscope.cli.app import Option

    def bad(x: str = Option("--x")) -> None:  # the mistake under test
        pass

    assert fastpath.specs_of(bad) is None
    with pytest.raises(TypeError, match="Annotated"):
        _for_typer(bad)


# -- the program's own entry: the collector and the end of the process --------------------


def _script(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_the_whole_output_comes_through_a_pipe_and_the_exit_code_with_it() -> None:
    import json

    done = subprocess.run(
        [sys.executable, "-m", "cnnscope", "shapes", "resnet152", "-f", "json"], capture_output=True, check=False
    )
    assert done.returncode == 0 and len(json.loads(done.stdout)["layers"]) > 500
    bad = subprocess.run([sys.executable, "-m", "cnnscope", "shapes", "nosuchspec"], capture_output=True, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith(b"error[")


def test_atexit_handlers_still_run_and_a_caller_gets_systemexit() -> None:
    done = _script(
        "import atexit, sys\n"
        "atexit.register(lambda: print('handler ran', flush=True))\n"
        "from cnnscope.cli.main import entry\n"
        "sys.argv = ['cnnscope', '--version']\n"
        "if __name__ == '__main__':\n"
        "    entry()\n"
    )
    assert done.returncode == 0 and done.stdout.splitlines() == [f"cnnscope {cnnscope.__version__}", "handler ran"]
    caller = _script(  # not the program's entry: SystemExit, which the caller may catch
        "import gc, sys\nfrom cnnscope.cli.main import entry\nsys.argv = ['cnnscope', '--version']\n"
        "def f():\n    try:\n        entry()\n"
        "    except SystemExit as e:\n        print('exit', e.code, gc.isenabled())\nf()\n"
    )
    assert caller.stdout.splitlines()[-1] == "exit 0 True"


def test_the_collector_comes_back_when_torch_is_imported() -> None:
    import gc

    from cnnscope.cli.main import _HOOK, _collector_on, _CollectorBack

    was = gc.isenabled()
    hook = _CollectorBack()
    _HOOK.append(hook)
    sys.meta_path.insert(0, hook)
    gc.disable()
    try:
        assert hook.find_spec("yaml") is None and not gc.isenabled()  # an analytic module: still off
        assert hook.find_spec("torch.nn") is None and gc.isenabled()  # torch: on, and the hook gone
        assert hook not in sys.meta_path
    finally:
        _collector_on()
        gc.unfreeze()
        if not was:
            gc.disable()


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "lenet5", "cs231n-conv", "--max-params", "1M", "-f", "json"],
        ["diff", "lenet5", "cs231n-conv", "-f", "json"],
        ["fit", "lenet5", "-f", "json"],
        ["layers", "-f", "json"],
        ["rf", "lenet5", "-f", "json"],
        ["memory", "lenet5", "-f", "csv"],
        ["explain", "lenet5", "-f", "markdown"],
        ["lint", "lenet5", "-f", "github"],
    ],
    ids=lambda argv: argv[0],
)
def test_everyday_commands_load_neither_typer_nor_click(argv: list[str]) -> None:
    code = (
        "import sys, io, contextlib\n"
        "from cnnscope.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({argv!r})\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & {'typer', 'click'}\n"
        "if type(sys.modules.get('inspect')).__name__ == 'module':\n"
        "    loaded.add('inspect')  # dataclasses imports it only for docstrings: it stays deferred\n"
        "print(code, sorted(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(maxsplit=1)[1].strip() == "[]", out.stdout
    assert out.stdout.split()[0] in ("0", "1"), out.stdout  # ran (1: a budget or a lint finding)


def test_a_deferred_module_is_the_module_once_read() -> None:
    code = (
        "import sys\n"
        "from cnnscope.perf import defer_import\n"
        "defer_import('inspect')\n"
        "import dataclasses, inspect\n"
        "assert 'ast' not in sys.modules  # imported twice, run never\n"
        "assert str(inspect.signature(len)) == '(obj, /)'\n"
        "assert sys.modules['inspect'].Parameter is inspect.Parameter is dataclasses.inspect.Parameter\n"
        "print(type(sys.modules['inspect']).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "module"  # the real one in sys.modules after the first read
