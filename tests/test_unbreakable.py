"""Issue #20, one regression test per class: a CI gate that cannot be fooled, no hangs, no
internal errors, nothing unsafe. The generated corpus (tests/test_mutations.py) holds many
cases of each class; these hold each class's rule precisely, and the ones that need a real
process (pipes, signals, stream encodings) run cnnscope as a subprocess.
"""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

from cnnscope.cli.main import main
from cnnscope.errors import CnnscopeError, SpecError, UsageError
from cnnscope.frontends.yaml.expr import evaluate
from cnnscope.frontends.yaml.loader import MAX_NODES, load_spec

ROOT = Path(__file__).resolve().parents[1]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, **kw: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cnnscope", *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=kw.get("cwd"),
    )


def spec_error(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec(text, file="t.yaml")
    return info.value


NET = "input: [3, 8, 8]\nlayers:\n"


# -- silently wrong: user code never decides the exit code --------------------------------------


def test_sys_exit_as_a_source_is_a_failure_of_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    code, out, err = run(["check", "sys:exit", "--no-config", "--max-params", "1", "--input", "3,8,8"], capsys)
    assert code == 2 and out == ""
    assert "sys.exit(None)" in err and err.startswith("error[import-failed]")


def test_sys_exit_at_import_and_in_forward(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    (tmp_path / "mod.py").write_text("import sys\nsys.exit(0)\n")
    code, _, err = run(["check", f"{tmp_path}/mod.py:Net", "--no-config", "--max-params", "1"], capsys)
    assert code == 2 and "importing" in err and "sys.exit(0)" in err and f"{tmp_path}/mod.py:2" in err
    (tmp_path / "fwd.py").write_text(
        "import sys\nfrom torch import nn\n"
        "class Net(nn.Module):\n    input_shape = (3, 8, 8)\n"
        "    def __init__(self):\n        super().__init__(); self.c = nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n        sys.exit(7)\n"
    )
    code, _, err = run(["check", f"{tmp_path}/fwd.py:Net", "--no-config", "--max-params", "1"], capsys)
    assert code == 2 and "sys.exit(7)" in err


def test_a_system_exit_escaping_a_command_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import cnnscope.frontends.sources as sources

    def exits(*a: Any, **k: Any) -> Any:
        raise SystemExit(0)

    monkeypatch.setattr(sources, "load", exits)
    code, out, err = run(["summary", "lenet5"], capsys)
    assert code == 2 and out == "" and err.startswith("error[source-exited]")


def test_keyboard_interrupt_raised_by_user_code_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    (tmp_path / "ki.py").write_text("def f():\n    raise KeyboardInterrupt\n")
    code, _, err = run(["summary", f"{tmp_path}/ki.py:f", "--input", "3,8,8"], capsys)
    assert code == 2 and "KeyboardInterrupt" in err and f"{tmp_path}/ki.py:2" in err


# -- shares ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        ("{name: a, type: conv2d, out_channels: 4, kernel_size: 3, shares: a}", "bad-shares"),
        ("{name: a, type: conv2d, out_channels: 4, kernel_size: 3, shares: input}", "bad-shares"),
        ("{name: a, type: conv2d, out_channels: 4, kernel_size: 3, shares: [a]}", "wrong-type"),
        ("{name: a, type: conv2d, out_channels: 4, kernel_size: 3, shares: 3}", "wrong-type"),
        ("{name: a, type: conv2d, out_channels: 4, kernel_size: 3, shares: nowhere}", "dangling-shares"),
    ],
)
def test_shares_is_validated(entry: str, kind: str) -> None:
    err = spec_error(NET + f"  - {entry}\n")
    assert err.kind == kind
    assert err.loc is not None and err.loc.line == 3


def test_mutual_and_mismatched_shares_are_refused() -> None:
    mutual = NET + (
        "  - {name: a, type: conv2d, out_channels: 3, kernel_size: 3, padding: 1, shares: b}\n"
        "  - {name: b, type: conv2d, out_channels: 3, kernel_size: 3, padding: 1, shares: a}\n"
    )
    assert spec_error(mutual).kind == "bad-shares"
    # the campaign's case: 84 parameters counted where the model has 692
    shapes = NET + (
        "  - {name: a, type: conv2d, out_channels: 3, kernel_size: 3, padding: 1}\n"
        "  - {name: b, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, shares: a}\n"
    )
    err = spec_error(shapes)
    assert err.kind == "bad-shares" and "out_channels" in err.message and err.loc is not None and err.loc.line == 4
    other_type = (
        NET + "  - {name: a, type: conv2d, out_channels: 3, kernel_size: 1}\n  - {type: batchnorm2d, shares: a}\n"
    )
    assert spec_error(other_type).kind == "bad-shares"


def test_valid_shares_still_count_once() -> None:
    from cnnscope.analyze.base import analyze

    g = load_spec(
        NET + "  - {name: a, type: conv2d, out_channels: 3, kernel_size: 3, padding: 1}\n"
        "  - {name: b, type: conv2d, out_channels: 3, kernel_size: 3, stride: 2, shares: a}\n"
    )
    assert analyze(g, ["params"]).totals["params"] == 84


# -- names ----------------------------------------------------------------------------------------


def test_a_name_clashing_with_a_generated_one_names_its_generator() -> None:
    err = spec_error(
        "input: [3, 8, 8]\nblocks:\n  basic: [{name: conv1, type: relu}]\nlayers:\n"
        "  - {block: basic, name: layer1, repeat: 2}\n  - {name: layer1.0.conv1, type: relu}\n"
    )
    assert err.kind == "duplicate-name"
    assert err.hint is not None and "block `basic`" in err.hint and "t.yaml:5:5" in err.hint
    assert err.loc is not None and err.loc.line == 6


# -- --input --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["3,,224", "1,x", "1,", "9" * 5000, "3,0", "1,2,3,4,5", "3,-1", "x"])
def test_input_is_read_strictly(text: str) -> None:
    from cnnscope.cli.common import parse_input

    with pytest.raises(UsageError):
        parse_input(text)


def test_input_still_reads_its_forms() -> None:
    from cnnscope.cli.common import parse_input

    assert parse_input("3,224,224") == parse_input("3x224x224") == parse_input(" 3, 224 ,224 ") == (3, 224, 224)


# -- built-in names and files -----------------------------------------------------------------------


def test_a_file_named_like_a_builtin_does_not_replace_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lenet5").write_text("input: [1, 8, 8]\nlayers: [relu]\n")
    code, out, err = run(["params", "lenet5", "-f", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["params"] == 61706
    assert "note: `lenet5` is the built-in spec" in err and "./lenet5" in err
    code, out, err = run(["params", "./lenet5", "-f", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["params"] == 0
    code, out, err = run(["params", "builtin:lenet5", "-f", "json"], capsys)
    assert code == 0 and json.loads(out)["totals"]["params"] == 61706 and err == ""
    code, _, err = run(["params", "builtin:lenet6"], capsys)
    assert code == 2 and "lenet5" in err


# -- strict JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e999"])
def test_min_time_must_be_finite(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["check", "lenet5", "--no-config", "--max-latency-ms", "5", "--min-time", value, "-f", "json"], capsys
    )
    assert code == 2 and out == "" and "--min-time" in err


@pytest.mark.parametrize(
    "args", [["profile", "lenet5", "--peak-tflops", "nan"], ["profile", "lenet5", "--peak-tflops=inf"]]
)
def test_no_option_takes_nan_or_infinity(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(args, capsys)
    assert code == 2 and out == "" and "must be a finite number" in err


def test_every_json_document_is_strict() -> None:
    # one json emitter writes every command's document: a figure that is not finite is null
    from cnnscope.render import emit
    from cnnscope.render.document import Document

    buf = io.StringIO()
    emit(Document(data={"ratio": float("nan"), "rows": [{"x": float("inf")}, {"x": 1.5}]}), "json", buf)
    doc = json.loads(buf.getvalue(), parse_constant=lambda c: pytest.fail(f"{c} in strict JSON"))
    assert doc["ratio"] is None and doc["rows"] == [{"x": None}, {"x": 1.5}] and isinstance(doc["schema_version"], int)


# -- export ---------------------------------------------------------------------------------------


def test_an_export_that_does_not_load_back_fails_loudly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    (tmp_path / "odd.py").write_text(
        "from torch import nn\n"
        "class Net(nn.Module):\n    input_shape = (3, 8, 8)\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.ModuleDict({'a b': nn.Conv2d(3, 4, 3), 'c:d': nn.ReLU()})\n"
        "    def forward(self, x):\n        return self.body['c:d'](self.body['a b'](x))\n"
    )
    code, out, err = run(["export", f"{tmp_path}/odd.py:Net"], capsys)
    assert code == 2 and out == "" and err.startswith("error[unloadable-export]")


# -- unsafe ---------------------------------------------------------------------------------------


def test_a_revision_is_never_an_option_to_git(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("no git")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    (tmp_path / "net.yaml").write_text(NET + "  - relu\n")
    for cmd in (["git", "init", "-q"], ["git", "add", "net.yaml"], ["git", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env, capture_output=True)
    for rev in ("--output=x", f"--output={tmp_path}/y"):
        code, _, err = run(["diff", str(tmp_path / "net.yaml"), f"--against={rev}"], capsys)
        assert code == 2 and err.startswith("error[git-failed]")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".git", "net.yaml"]
    code, out, _ = run(["diff", str(tmp_path / "net.yaml"), "--against=HEAD", "-f", "json"], capsys)
    assert code == 0 and json.loads(out)


def test_zoo_models_are_built_without_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in torchvision records what the builder gets; torch.load and the hub fail."""
    torch = pytest.importorskip("torch")
    from cnnscope.frontends.torch import sources

    seen: dict[str, Any] = {}

    def fasterrcnn(*, weights: Any = None, weights_backbone: Any = None, num_classes: int = 91) -> Any:
        return torch.nn.Conv2d(3, 4, 3)

    def get_model(name: str, **kw: Any) -> Any:
        seen.update(kw)
        return fasterrcnn(**kw)

    fake = types.ModuleType("torchvision")
    models = types.ModuleType("torchvision.models")
    models.list_models = lambda: ["fasterrcnn"]  # type: ignore[attr-defined]
    models.get_model_builder = lambda name: fasterrcnn  # type: ignore[attr-defined]
    models.get_model = get_model  # type: ignore[attr-defined]
    fake.models = models  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)

    def forbidden(*a: Any, **k: Any) -> Any:
        raise AssertionError("weights were loaded")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", forbidden)
    _model, shape = sources.resolve_model("torchvision:fasterrcnn", (3, 8, 8))
    assert seen == {"weights": None, "weights_backbone": None}
    assert shape == (3, 8, 8)
    _, _ = sources.resolve_model("torchvision:fasterrcnn", (3, 8, 8), '{"num_classes": 3}')
    assert seen["weights"] is None and seen["weights_backbone"] is None
    with pytest.raises(CnnscopeError) as info:
        sources.resolve_model("torchvision:fasterrcnn", (3, 8, 8), '{"num_clases": 3}')
    assert info.value.kind == "bad-kwargs"


# -- bounded before it runs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "round(10 ** 15, -10 ** 15)",
        "'%999999999d' % 1",
        "'%s' % 3",
        "int(1e300)",
        "int('9' * 4000)",
        "[[1] * 10000] * 10000",
        "[1] * 6000 + [1] * 6000",
        "'x' * 10000 + 'y'",
        "2 ** 64 ** 64",
        "9" * 5000,
        "-" * 1500 + "1",
        "1e999",
    ],
)
def test_every_expression_is_bounded_before_it_runs(expr: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # every operator and function the evaluator may run is first asked, from its operands, how
    # big its result could be (a power's digits, a repeat's items, a format's width): one that
    # would be unbounded fails the test instead of running (it would hang or eat the memory)
    from cnnscope.frontends.yaml import expr as ev

    def cost(name: str, args: tuple[Any, ...]) -> float:
        nums = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
        if name == "pow" and len(nums) == 2 and abs(nums[0]) > 1 and nums[1] > 0:
            return nums[1] * math.log10(abs(nums[0]))  # digits of the result
        if name in ("mul", "add") and any(isinstance(a, (str, list)) for a in args):
            return math.prod(len(a) if isinstance(a, (str, list)) else max(a, 1) for a in args)  # items
        if name == "mod" and any(isinstance(a, str) for a in args):
            return math.inf  # string formatting: a field as wide as asked
        if name == "round" and len(args) == 2:
            return abs(args[1])  # digits of the scale 10**ndigits
        if name == "int" and isinstance(args[0], str):
            return len(args[0])  # digits parsed
        return 0

    def bounded(name: str, fn: Any) -> Any:
        def run(*args: Any) -> Any:
            assert cost(name, args) <= 10_000, f"{name}{args!r:.80} ran unbounded"
            return fn(*args)

        return run

    monkeypatch.setattr(ev, "_BIN", {k: bounded(f.__name__, f) for k, f in ev._BIN.items()})
    monkeypatch.setattr(ev, "_FUNCS", {k: bounded(k, f) for k, f in ev._FUNCS.items()})
    with pytest.raises(SpecError) as info:
        evaluate("${" + expr + "}", {}, None)
    assert info.value.kind == "bad-expression"


def test_expressions_still_compute() -> None:
    assert evaluate("${round(2.567, 2)}", {}, None) == 2.57
    assert evaluate("${int('12') + 10 ** 14 - 10 ** 14}", {}, None) == 12
    assert evaluate("${[0] * 3 + [1]}", {}, None) == [0, 0, 0, 1]
    assert evaluate("${7 % 3}", {}, None) == 1


def test_large_specs_are_refused_from_the_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    # refused from the counts, before expanding: not one layer is made (these took 20 to 70 s
    # when the expansion ran first)
    from cnnscope.frontends.yaml import loader

    made: list[str] = []
    real_layer = loader._Expander.layer

    def layer(self: Any, e: Any, local: str, *args: Any) -> str:
        made.append(local)
        assert len(made) < 1_000, "the spec is being expanded"  # fail now, not after a minute
        return real_layer(self, e, local, *args)

    monkeypatch.setattr(loader._Expander, "layer", layer)
    err = spec_error(NET + "  - {type: relu, repeat: 2000000}\n")
    assert err.kind == "too-large" and err.loc is not None and err.loc.line == 3
    blocks = ["input: [3, 8, 8]", "blocks:", "  x0: [relu, relu]"]
    blocks += [f"  x{k}: [x{k - 1}, x{k - 1}]" for k in range(1, 31)]
    err = spec_error("\n".join([*blocks, "layers:", "  - x30", ""]))
    assert err.kind == "too-large" and err.loc is not None and err.loc.line == 35
    assert f"{MAX_NODES:,}" in err.message
    # the same through block arguments and `repeat: ${n}`: counted (memoized), not expanded
    blocks = ["input: [3, 8, 8]", "blocks:", "  x0: {args: [n], layers: [relu, relu]}"]
    blocks += [
        f'  x{k}: {{args: [n], layers: [{{block: x{k - 1}, n: "${{n}}", repeat: "${{n}}"}}]}}' for k in range(1, 31)
    ]
    err = spec_error("\n".join([*blocks, "layers:", "  - {block: x30, n: 2}", ""]))
    assert err.kind == "too-large" and err.loc is not None and err.loc.line == 35
    assert made == [], made[:5]
    load_spec(NET + "  - relu\n  - relu\n", file="t.yaml")
    assert len(made) == 2, made  # not vacuous: the spy sees every layer that is made


def test_spec_files_are_read_up_to_a_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sparse = tmp_path / "big.yaml"
    with open(sparse, "wb") as fh:
        fh.truncate(3 * 2**30)
    code, _, err = run(["shapes", str(sparse)], capsys)
    assert code == 2 and err.startswith("error[too-large]") and f"--> {sparse}" in err
    if Path("/dev/zero").exists():
        link = tmp_path / "zero.yaml"
        link.symlink_to("/dev/zero")
        code, _, err = run(["shapes", str(link)], capsys)
        assert code == 2 and err.startswith("error[too-large]")


def test_diagnostics_quote_a_bounded_amount(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(NET + "  - {type: " + "k" * 5_000_000 + ", out_channels: 4, kernel_size: 3}\n")
    code, _, err = run(["shapes", str(path)], capsys)
    assert code == 2 and len(err) < 4096 and "more characters" in err


# -- internal errors that are user errors --------------------------------------------------------------


@pytest.mark.parametrize("value", ["9" * 5000, "1" + "0" * 30, ".inf", ".nan", "1.0e+999"])
def test_yaml_numbers_are_bounded(value: str) -> None:
    err = spec_error(NET + f"  - {{type: conv2d, out_channels: {value}, kernel_size: 3}}\n")
    assert err.kind == "bad-value" and err.loc is not None and (err.loc.line, err.loc.col) == (3, 34)


@pytest.mark.parametrize("value", ["1e999", "1e999999", "1e9999999", "1e31"])
def test_budgets_past_the_range_are_usage_errors(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", "lenet5", "--no-config", "--max-params", value], capsys)
    assert code == 2 and "out of range" in err


def test_percent_on_a_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", "lenet5", "--no-config", "--max-params", "50%"], capsys)
    assert code == 2 and "percentage" in err
    code, _, _ = run(["check", "lenet5", "--no-config", "--budget", "min_rf.coverage=50%"], capsys)
    assert code in (0, 1)  # a fraction takes a percent


def test_long_source_names(capsys: pytest.CaptureFixture[str]) -> None:
    for src in ["a" * 5000, "a" * 5000 + ".yaml", "x/" * 3000 + "n.yaml", "builtin:" + "a" * 5000]:
        code, _, err = run(["summary", src], capsys)
        assert code == 2 and "internal error" not in err and len(err) < 4096


@pytest.mark.parametrize(
    "text",
    [
        "[tool]\ncnnscope = 3\n",
        'tool = "cnnscope"\n',  # it names cnnscope, so it is read (a file that never does is passed over)
        "[tool.cnnscope]\nmeasure = 3\n",
        "[tool.cnnscope]\nbudget = 3\n",
        "[tool.cnnscope\n",
    ],
)
def test_config_errors_are_located(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["check", "lenet5", "--max-params", "1M"], capsys)
    assert code == 2 and "internal error" not in err
    assert f"--> {tmp_path}/pyproject.toml:" in err, err


def test_verify_refuses_what_it_cannot_allocate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    path = tmp_path / "huge.yaml"
    path.write_text("input: [3, 200000, 200000]\nlayers:\n  - {type: conv2d, out_channels: 64, kernel_size: 3}\n")
    code, _, err = run(["verify", str(path)], capsys)
    assert code == 2 and err.startswith("error[too-large]") and f"{path}:1:8" in err and "bytes" in err


# -- module sources ----------------------------------------------------------------------------------


MODULES = """
import torch
from torch import nn

def lazy():
    return nn.Sequential(nn.LazyConv2d(8, 3))

def scripted():
    return torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3)))

def inner_type_error(width=3):
    return len(width)

def takes(width=3):
    return nn.Conv2d(3, width, 3)
"""


@pytest.mark.parametrize(
    ("attr", "kwargs", "kind", "words"),
    [
        ("lazy", None, "lazy-module", "run one forward pass first"),
        ("scripted", None, "torchscript-module", "pass the Python module"),
        ("inner_type_error", None, "import-failed", "TypeError"),
        ("takes", '{"widht": 3}', "bad-kwargs", "widht"),
    ],
)
def test_module_sources_say_what_is_wrong(attr: str, kwargs: str | None, kind: str, words: str, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import warnings

    from cnnscope.frontends.torch.sources import resolve_model

    (tmp_path / "mods.py").write_text(MODULES)
    with warnings.catch_warnings(), pytest.raises(CnnscopeError) as info:
        warnings.simplefilter("ignore")
        resolve_model(f"{tmp_path}/mods.py:{attr}", (3, 8, 8), kwargs)
    assert info.value.kind == kind and words in info.value.message
    if kind == "import-failed":
        assert info.value.loc is not None and info.value.loc.line == 12


def test_a_syntax_error_in_a_module_source_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    (tmp_path / "syn.py").write_text("import torch\ndef f(:\n    pass\n")
    code, _, err = run(["summary", f"{tmp_path}/syn.py:f"], capsys)
    assert code == 2 and "SyntaxError" in err and f"--> {tmp_path}/syn.py:2:" in err
    assert not (tmp_path / "__pycache__").exists()


# -- the process: pipes, signals, encodings ---------------------------------------------------------


@pytest.mark.parametrize("args", [["summary", "resnet152"], ["explain", "cs231n-conv"], ["zoo"]])
def test_a_closed_pipe_is_a_quiet_exit_0(args: list[str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnscope", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err


def test_ctrl_c_is_130_with_a_word(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnscope", "summary", f"{tmp_path}/slow.py:Net", "--input", "3,8,8"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "torch" not in _loaded(proc.pid):
        time.sleep(0.2)
    time.sleep(2)
    os.kill(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.decode().strip().endswith("interrupted")


def _loaded(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "torch"  # not Linux: just wait the fixed time


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_narrow_stdout_encoding_is_no_internal_error(encoding: str) -> None:
    for args in (["summary", "resnet18"], ["check", "lenet5", "--no-config", "--max-params", "1", "-f", "markdown"]):
        proc = cli(*args, env={"PYTHONIOENCODING": encoding})
        assert proc.returncode in (0, 1), proc.stderr
        assert "internal error" not in proc.stderr and "UnicodeEncodeError" not in proc.stderr


def test_the_gate_never_passes_an_unevaluable_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A report whose MACs are a lower bound (layers of unknown cost) cannot meet a MAC budget."""
    from cnnscope import gate as b
    from cnnscope.analyze.base import analyze
    from cnnscope.frontends.sources import load

    graph = load("lenet5")
    report = analyze(graph, None)
    report.totals["incomplete"] = True
    report.totals["unsupported"] = ["mystery"]
    budgets = {"max_macs": b.make_budget("max_macs", "1G")}
    with pytest.raises(UsageError) as info:
        b.evaluate(graph, report, budgets)
    assert info.value.kind == "budget-unknown"
    assert not b.evaluate(graph, report, {"max_macs": b.make_budget("max_macs", "1")}).ok  # over even so


def test_a_module_returning_a_dict_counts_every_parameter() -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    from cnnscope.analyze.base import analyze
    from cnnscope.frontends.torch.capture import capture

    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3)
            self.a = nn.Conv2d(8, 4, 1)
            self.b = nn.Conv2d(8, 2, 1)

        def forward(self, x: Any) -> dict[str, Any]:
            y = torch.relu(self.stem(x))
            return {"a": self.a(y), "b": self.b(y)}

    model = Heads()
    report = analyze(capture(model, (3, 8, 8)), ["params"])
    assert report.totals["params"] == sum(p.numel() for p in model.parameters())
