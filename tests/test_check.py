"""`cnnscope check`: budgets, exit codes, config, formats, the pre-commit hook, the pytest helper.

Expected figures are hand arithmetic (LeNet-5, see specs/lenet5.yaml):
  params = (5·5·1+1)·6 + (5·5·6+1)·16 + (400+1)·120 + (120+1)·84 + (84+1)·10
         = 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706   (all trainable)
  macs   = 28·28·6·25 + 10·10·16·150 + 400·120 + 120·84 + 84·10
         = 117,600 + 240,000 + 48,000 + 10,080 + 840 = 416,520
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from cnnscope.cli.main import main
from cnnscope.errors import UsageError
from cnnscope.gate import parse_quantity

ROOT = Path(__file__).resolve().parents[1]
LENET_PARAMS = 156 + 2_416 + 48_120 + 10_164 + 850
LENET_MACS = 28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10
assert LENET_PARAMS == 61_706 and LENET_MACS == 416_520

# conv(3->8, 3x3, pad 1) on 3x8x8, flatten, linear(512->10):
#   conv params 3·9·8 + 8 = 224, fc params 512·10 + 10 = 5,130 -> 5,354
#   conv macs 8·8·8·27 = 13,824, fc macs 5,120 -> 18,944
SMALL = """\
name: small
input: [3, 8, 8]
budget:
  max_params: 5K
layers:
  - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""
SMALL_PARAMS = 224 + 5_130
SMALL_MACS = 8 * 8 * 8 * 27 + 512 * 10


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def check_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    rc, out, err = run([*args, "--format", "json"], capsys)
    assert rc in (0, 1), err
    return rc, json.loads(out)


# -- units -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12M", 12_000_000),
        ("1.5G", 1_500_000_000),
        ("1.1G", 1_100_000_000),  # exact, no float fuzz
        ("64MiB", 64 * 1024 * 1024),
        ("64MB", 64_000_000),
        ("500K", 500_000),
        ("500k", 500_000),
        ("2GMAC", 2_000_000_000),
        ("1_000", 1_000),
        ("50%", 0.5),
        ("12", 12),
        (12, 12),
        ("1.5 KiB", 1536),
    ],
)
def test_parse_quantity(text: object, value: float) -> None:
    assert parse_quantity(text) == value
    assert type(parse_quantity(text)) is type(value)


@pytest.mark.parametrize("text", ["12X", "abc", "-3M", "1.2.3", "", "MB", "12 MM", True, None])
def test_parse_quantity_rejects(text: object) -> None:
    with pytest.raises(UsageError) as e:
        parse_quantity(text)
    assert e.value.kind == "bad-quantity"


def test_bad_unit_exits_2_with_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["check", "lenet5", "--max-params", "12X"], capsys)
    assert rc == 2 and out == ""
    assert "error[bad-quantity]" in err and "unknown unit `X`" in err and "12M, 1.5G, 64MiB" in err
    assert "Traceback" not in err


def test_byte_unit_on_a_count_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["check", "lenet5", "--max-params", "64MiB"], capsys)
    assert rc == 2 and "is a size in bytes" in err


def test_unknown_figure_exits_2_and_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["check", "lenet5", "--budget", "max_parms=3"], capsys)
    assert rc == 2 and "error[unknown-figure]" in err and "did you mean `params`" in err


def test_bad_budget_assignment_and_no_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "lenet5", "--budget", "max_params"], capsys)[0] == 2
    rc, _, err = run(["check", "lenet5", "--no-config"], capsys)
    assert rc == 2 and "no budget applies" in err
    assert run(["check", "lenet5", "--max-params", "1M", "--format", "xml"], capsys)[0] == 2


# -- within / exceeded ---------------------------------------------------------------------


def test_within_budget_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(["check", "lenet5", "--no-config", "--max-params", "61706", "--max-macs", "1M"], capsys)
    assert rc == 0 and doc["ok"] is True and doc["exceeded"] == 0
    params = doc["models"][0]["budgets"][0]
    assert params["actual"] == LENET_PARAMS and params["limit"] == 61_706 and params["over"] == 0


def test_params_exceeded(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(["check", "lenet5", "--no-config", "--max-params", "60K"], capsys)
    assert rc == 1 and doc["ok"] is False
    b = doc["models"][0]["budgets"][0]
    assert b["budget"] == "max_params" and b["actual"] == 61_706 and b["limit"] == 60_000
    assert b["over"] == 1_706  # 61,706 - 60,000
    assert b["over_percent"] == pytest.approx(1_706 / 60_000 * 100, abs=1e-3)  # 2.843%
    # the largest contributors: fc1 48,120, fc2 10,164, conv2 2,416
    assert [t["layer"] for t in b["top_layers"]] == ["fc1", "fc2", "conv2"]
    assert b["top_layers"][0]["value"] == 48_120
    assert b["top_layers"][0]["share"] == pytest.approx(48_120 / 61_706, abs=1e-5)


def test_trainable_params_exceeded(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(["check", "lenet5", "--no-config", "--max-trainable-params", "61705"], capsys)
    assert rc == 1 and doc["models"][0]["budgets"][0]["over"] == 1


def test_macs_exceeded(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(["check", "lenet5", "--no-config", "--max-macs", "400K"], capsys)
    assert rc == 1
    b = doc["models"][0]["budgets"][0]
    assert b["actual"] == LENET_MACS and b["over"] == LENET_MACS - 400_000  # 16,520
    assert b["top_layers"][0]["layer"] == "conv2" and b["top_layers"][0]["value"] == 240_000


def test_flops_exceeded(capsys: pytest.CaptureFixture[str]) -> None:
    # flops count a multiply-add twice: 2 · 416,520 = 833,040
    rc, doc = check_json(["check", "lenet5", "--no-config", "--max-flops", "833039"], capsys)
    assert rc == 1 and doc["models"][0]["budgets"][0]["actual"] == 2 * LENET_MACS
    assert check_json(["check", "lenet5", "--no-config", "--max-flops", "833040"], capsys)[0] == 0


def test_activation_bytes_exceeded(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(["check", "lenet5", "--no-config", "--max-activation-bytes", "1KiB"], capsys)
    assert rc == 1
    b = doc["models"][0]["budgets"][0]
    # conv1's output alone is 6·28·28 floats = 4,704 · 4 B = 18,816 B > 1 KiB
    assert b["actual"] >= 18_816 and b["limit"] == 1024 and b["unit"] == "bytes"


def test_training_bytes_exceeded(capsys: pytest.CaptureFixture[str]) -> None:
    # Adam training needs at least params + grads + 2 moments = 4 · 61,706 · 4 B = 987,296 B
    rc, doc = check_json(["check", "lenet5", "--no-config", "--max-training-bytes", "900KB"], capsys)
    assert rc == 1 and doc["models"][0]["budgets"][0]["actual"] >= 4 * LENET_PARAMS * 4


def test_generic_budget_and_min_budget(capsys: pytest.CaptureFixture[str]) -> None:
    # param_bytes = 61,706 · 4 B = 246,824 B (float32)
    rc, doc = check_json(["check", "lenet5", "--no-config", "--budget", "max_param_bytes=246823"], capsys)
    assert rc == 1 and doc["models"][0]["budgets"][0]["actual"] == 246_824
    rc, doc = check_json(["check", "lenet5", "--no-config", "-B", "min_params=100K"], capsys)
    b = doc["models"][0]["budgets"][0]
    assert rc == 1 and b["kind"] == "min" and b["over"] == 100_000 - 61_706


def test_table_failure_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["check", "lenet5", "--no-config", "--max-params", "60K"], capsys)
    assert rc == 1
    assert "EXCEEDED" in out and "max_params" in out and "fc1" in out
    assert "+2.8%" in out  # 1,706 / 60,000
    assert "1 of 1 budget exceeded" in out


def test_several_models_several_budgets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    # lenet5: params 61,706 <= 70K ok, macs 416,520 > 300K over
    # small:  params 5,354 > 5K (its own budget: key) over... but --max-params overrides it: 5,354 <= 70K ok
    #         macs 18,944 <= 300K ok
    rc, doc = check_json(
        ["check", "lenet5", str(small), "--no-config", "--max-params", "70K", "--max-macs", "300K"], capsys
    )
    assert rc == 1 and doc["exceeded"] == 1
    by = {m["model"]: {b["budget"]: b for b in m["budgets"]} for m in doc["models"]}
    assert by["lenet5"]["max_params"]["ok"] and not by["lenet5"]["max_macs"]["ok"]
    assert by["small"]["max_params"]["actual"] == SMALL_PARAMS and by["small"]["max_params"]["ok"]
    assert by["small"]["max_macs"]["actual"] == SMALL_MACS and by["small"]["max_macs"]["ok"]


def test_spec_budget_key_applies_and_points_at_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    rc, doc = check_json(["check", str(small), "--no-config"], capsys)
    b = doc["models"][0]["budgets"][0]
    assert rc == 1 and b["budget"] == "max_params" and b["over"] == SMALL_PARAMS - 5_000
    assert b["location"]["line"] == 4  # `  max_params: 5K` is line 4 of SMALL


# -- formats -------------------------------------------------------------------------------


def test_github_format(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("small.yaml").write_text(SMALL)
    rc, out, _ = run(["check", "small.yaml", "--format", "github"], capsys)
    assert rc == 1
    errors = [ln for ln in out.splitlines() if ln.startswith("::error ")]
    assert len(errors) == 1
    props, msg = errors[0][len("::error ") :].split("::", 1)
    fields = dict(p.split("=", 1) for p in props.split(","))
    assert fields["file"] == "small.yaml" and fields["line"] == "4"
    assert fields["title"] == "cnnscope budget-exceeded (max_params)"  # the diagnostic's id, its subject
    assert msg.startswith("error[budget-exceeded]: small: params is 5.35 K, over the budget max_params")
    # escaped per the workflow-command rules: every % is an escape, the lines are one line
    assert "%25" in msg and "%0A" in msg and re.fullmatch(r"(?:[^%\r\n]|%25|%0A|%0D)*", msg)
    assert "%0A  --> small.yaml:4:3%0A" in msg  # the diagnostic's one text form, escaped
    assert "by 354 (+7.1%25)" in msg  # over by 5,354 - 5,000 = 354, 354 / 5,000 = 7.08%


def test_github_points_at_largest_layer_without_spec_budget(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("small.yaml").write_text(SMALL)
    rc, out, _ = run(["check", "small.yaml", "--max-macs", "10K", "-f", "github"], capsys)
    line = next(ln for ln in out.splitlines() if "max_macs" in ln)
    assert rc == 1 and "line=6," in line  # the conv (13,824 of 18,944 MACs) is on line 6


def test_markdown_format(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(
        ["check", "lenet5", "--no-config", "--max-params", "60K", "--max-macs", "1M", "-f", "markdown"], capsys
    )
    assert rc == 1
    assert out.startswith("### cnnscope budget check: ❌ 1 budget exceeded")
    rows = [ln for ln in out.splitlines() if ln.startswith("| lenet5 ")]
    assert len(rows) == 2 and rows[0].endswith("| EXCEEDED |") and rows[1].endswith("| ok |")
    assert "+1.71 K (+2.8%)" in rows[0]  # 61,706 - 60,000 = 1,706 over; 1,706 / 60,000 = 2.8%
    # the exceeded budget as a diagnostic, with the layers that weigh most: fc1 = 400·120 + 120
    assert "- **error** `budget-exceeded` `max_params`" in out and "why: largest: fc1 48.12 K (78.0%)" in out


def test_csv_format(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["check", "lenet5", "--no-config", "--max-params", "60K", "-f", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rc == 1 and len(rows) == 1
    r = rows[0]
    assert (r["budget"], r["actual"], r["limit"], r["over"], r["unit"]) == (
        "max_params",
        "61706",
        "60000",
        "1706",
        "count",
    )


def test_markdown_all_within(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(["check", "lenet5", "--no-config", "--max-params", "1M", "-f", "markdown"], capsys)
    assert rc == 0 and "✅ within budget" in out


# -- config --------------------------------------------------------------------------------


def _project(tmp_path: Path, pyproject: str) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "small.yaml").write_text(SMALL)
    (tmp_path / "models" / "lenet.yaml").write_text((ROOT / "specs" / "lenet5.yaml").read_text())
    (tmp_path / "pyproject.toml").write_text(pyproject)


def test_config_from_pyproject(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(
        tmp_path,
        '[tool.cnnscope]\nmodel = "models/lenet.yaml"\n\n'
        '[tool.cnnscope.budget]\nmax_params = "62K"\nmax_macs = "0.4M"\n',
    )
    monkeypatch.chdir(tmp_path)
    rc, doc = check_json(["check"], capsys)
    budgets = {b["budget"]: b for b in doc["models"][0]["budgets"]}
    assert rc == 1 and budgets["max_params"]["ok"] and not budgets["max_macs"]["ok"]
    assert budgets["max_macs"]["over"] == LENET_MACS - 400_000


def test_config_per_model_budgets(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(
        tmp_path,
        '[tool.cnnscope]\n\n[tool.cnnscope.budget]\nmax_params = "100K"\n\n'
        '[tool.cnnscope.models."models/lenet.yaml".budget]\nmax_params = "60K"\n\n'
        '[tool.cnnscope.models."models/small.yaml".budget]\nmax_params = "6K"\nmax_macs = "20K"\n',
    )
    monkeypatch.chdir(tmp_path / "models")  # the config is found upwards; its paths are relative to it
    rc, doc = check_json(["check"], capsys)
    by = {m["model"]: {b["budget"]: b for b in m["budgets"]} for m in doc["models"]}
    assert rc == 1
    assert by["lenet5"]["max_params"]["limit"] == 60_000 and not by["lenet5"]["max_params"]["ok"]
    # small: the per-model 6K replaces both the global 100K and the spec's own 5K: 5,354 <= 6K
    assert by["small"]["max_params"]["limit"] == 6_000 and by["small"]["max_params"]["ok"]
    assert by["small"]["max_macs"]["actual"] == SMALL_MACS and by["small"]["max_macs"]["ok"]
    # a source on the command line still gets its per-model budget
    rc, doc = check_json(["check", "lenet.yaml"], capsys)
    assert rc == 1 and doc["models"][0]["budgets"][0]["limit"] == 60_000


def test_config_bad_quantity_and_nothing_to_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path, '[tool.cnnscope]\nmodel = "models/lenet.yaml"\n[tool.cnnscope.budget]\nmax_params = "lots"\n')
    monkeypatch.chdir(tmp_path)
    rc, _, err = run(["check"], capsys)
    assert rc == 2 and "cannot read `lots`" in err
    (tmp_path / "pyproject.toml").write_text("[tool.cnnscope]\n")
    rc, _, err = run(["check"], capsys)
    assert rc == 2 and "nothing to check" in err


# -- integrations --------------------------------------------------------------------------


def test_pre_commit_hook(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "cnnscope-check")
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    argv = shlex.split(hook["entry"]) + list(hook.get("args", []))
    assert argv[0] == "cnnscope"
    _project(tmp_path, '[tool.cnnscope]\nmodels = ["models/lenet.yaml"]\n[tool.cnnscope.budget]\nmax_params = "62K"\n')
    monkeypatch.chdir(tmp_path)
    rc, out, _ = run(argv[1:], capsys)
    assert rc == 0, out
    (tmp_path / "pyproject.toml").write_text(
        '[tool.cnnscope]\nmodels = ["models/lenet.yaml"]\n[tool.cnnscope.budget]\nmax_params = "61K"\n'
    )
    assert run(argv[1:], capsys)[0] == 1


def test_pytest_helper(tmp_path: Path) -> None:
    from cnnscope.testing import assert_within_budget, check_budget

    check = assert_within_budget("lenet5", max_params="62K", max_macs="0.5M")
    assert all(r.ok for r in check.results) and len(check.results) == 2
    with pytest.raises(AssertionError) as e:
        assert_within_budget("lenet5", max_params="60K", max_macs="0.4M")
    msg = str(e.value)
    assert msg.startswith("2 budgets exceeded for `lenet5`")
    assert "max_params" in msg and "max_macs" in msg and "fc1" in msg and "conv2" in msg
    small = tmp_path / "small.yaml"
    small.write_text(SMALL)
    with pytest.raises(AssertionError, match="max_params"):  # the spec's own budget: 5,354 > 5K
        assert_within_budget(str(small))
    assert check_budget(str(small), max_macs="20K", use_spec_budget=False).ok
    with pytest.raises(UsageError):
        assert_within_budget("lenet5", max_params="12 parsecs")


def test_check_does_not_import_torch(tmp_path: Path) -> None:
    import subprocess

    code = (
        "import sys; from cnnscope.cli.main import main; rc = main(['check', 'lenet5', '--max-params', '1M', "
        "'-f', 'json']); assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_budgetable_figure_declares_its_unit() -> None:
    # a budget's unit is declared by the analyzer that makes the figure, never guessed from its name
    import cnnscope
    from cnnscope.gate import numeric_totals

    report = cnnscope.analyze(cnnscope.load("resnet18"), None)
    undeclared = sorted(k for k in numeric_totals(report) if report.unit_of(k) is None)
    assert undeclared == []
    assert report.unit_of("input_bytes") == "bytes" and report.unit_of("other_ops.bias") == "ops"
    assert report.unit_of("rf.coverage") == "percent" and report.unit_of("trainable_params") == "count"


def test_a_percent_limit_needs_a_fraction_figure(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["check", "lenet5", "--no-config", "-B", "max_macs=50%"], capsys)
    assert rc == 2 and "is a percentage, but `macs` is a macs" in err
    rc, doc = check_json(["check", "resnet18", "--no-config", "-B", "min_rf.coverage=50%"], capsys)
    assert doc["models"][0]["budgets"][0]["unit"] == "percent"
