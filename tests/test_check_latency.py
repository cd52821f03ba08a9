"""`cnnscope check` on measured figures: latency, throughput, peak memory.

No timing assertions: the budgets are astronomically wide (1e6 ms passes, 1e-6 ms fails), so
only the plumbing is tested -- which statistic, over what, on which device, and the exits.
Every run is tiny (`--warmup 1 --iters 2 --min-time 0` on a small spec).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnscope.budget import MEASURED, MeasureOptions, make_budget
from cnnscope.cli.main import main
from cnnscope.errors import UsageError
from cnnscope.testing import assert_within_budget, check_budget

FAST = ["--warmup", "1", "--iters", "2", "--min-time", "0"]
QUICK = MeasureOptions(warmup=1, iters=2, min_time_s=0)
TINY = """\
name: tiny
input: [3, 8, 8]
budget:
  max_latency_ms: 1e6
layers:
  - {name: conv, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def check_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    rc, out, err = run([*args, *FAST, "--format", "json"], capsys)
    assert rc in (0, 1), err
    return rc, json.loads(out)


def test_wide_latency_budget_passes(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(["check", "cs231n-conv", "--max-latency-ms", "1e6", "--max-params", "1M"], capsys)
    assert rc == 0 and doc["ok"]
    m = doc["models"][0]
    r = {b["budget"]: b for b in m["budgets"]}["max_latency_ms"]
    assert r["ok"] and r["unit"] == "ms" and 0 < r["actual"] < 1e6
    assert r["measured"].startswith("median over ") and "on cpu, float32" in r["measured"]
    how = m["measurement"]
    assert how["statistic"] == "median" and how["device"] == "cpu" and how["batch"] == 1
    assert how["samples"] >= 2 and how["iters"] == how["samples"] * how["calls_per_block"]
    figs = how["figures"]
    assert set(figs) >= {"latency_ms", "latency_median_ms", "latency_p90_ms", "throughput_per_s"}
    assert figs["latency_ms"] == figs["latency_median_ms"] == r["actual"]
    assert figs["latency_p90_ms"] >= figs["latency_median_ms"]
    assert figs["throughput_per_s"] == pytest.approx(1 / (figs["latency_median_ms"] / 1e3))


def test_tiny_latency_budget_fails_and_names_the_statistic(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(["check", "lenet5", "--max-latency-ms", "1e-6", *FAST], capsys)
    assert rc == 1, err
    assert "EXCEEDED" in out and "latency_ms is" in out and "max_latency_ms" in out
    assert "measured: median over " in out and "forward passes" in out and "on cpu, float32" in out
    assert "latency_ms is the median" in out  # the measurement line under the table

    rc, out, _ = run(["check", "lenet5", "--max-latency-ms", "1e-6", "--latency-statistic", "p90", *FAST], capsys)
    assert rc == 1 and "measured: p90 over " in out

    rc, out, _ = run(
        ["check", "lenet5", "--budget", "max_latency_ms=1e-6", "-f", "github", "--threads", "1", *FAST], capsys
    )
    assert rc == 1 and out.startswith("::error file=")
    assert "measured: median over " in out and "1 thread, batch 1" in out

    rc, out, _ = run(["check", "lenet5", "--max-latency-ms", "1e-6", "-f", "markdown", *FAST], capsys)
    assert rc == 1 and "latency_ms is the median" in out and "`max_latency_ms`" in out


def test_p90_statistic_picks_the_p90(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(["check", "cs231n-conv", "--max-latency-ms", "1e6", "--latency-statistic", "p90"], capsys)
    figs = doc["models"][0]["measurement"]["figures"]
    assert rc == 0 and figs["latency_ms"] == figs["latency_p90_ms"]


def test_throughput_and_memory_budgets(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = check_json(
        [
            "check",
            "cs231n-conv",
            "--min-throughput",
            "1e12",
            "--budget",
            "max_peak_memory_bytes=1TiB",
            "--budget",
            "max_latency_p90_ms=1e6ms",
            "--batch",
            "2",
        ],
        capsys,
    )
    r = {b["budget"]: b for b in doc["models"][0]["budgets"]}
    assert rc == 1
    assert not r["min_throughput_per_s"]["ok"] and r["min_throughput_per_s"]["unit"] == "per_s"
    assert "batch / median latency" in r["min_throughput_per_s"]["measured"]
    assert r["max_peak_memory_bytes"]["ok"] and r["max_peak_memory_bytes"]["unit"] == "bytes"
    assert r["max_latency_p90_ms"]["ok"] and r["max_latency_p90_ms"]["limit"] == 1_000_000
    assert doc["models"][0]["measurement"]["batch"] == 2


def test_measured_budget_names() -> None:
    assert make_budget("min_throughput", "500").name == "min_throughput_per_s"
    assert make_budget("latency", "20ms").name == "max_latency_ms"
    assert make_budget("max_latency_ms", "20ms").limit == 20
    assert make_budget("max_peak_memory_bytes", "64MiB").limit == 64 * 2**20
    with pytest.raises(UsageError):
        make_budget("max_latency_ms", "64MiB")  # a size is not a time
    assert {"latency_ms", "throughput_per_s", "peak_memory_bytes"} <= set(MEASURED)


def test_config_driven_latency_budget(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY.replace("  max_latency_ms: 1e6\n", "  max_params: 1M\n"))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.cnnscope]\nmodel = "tiny.yaml"\n\n[tool.cnnscope.budget]\nmax_latency_ms = "1e6"\n\n'
        '[tool.cnnscope.models."tiny.yaml".budget]\nmin_throughput = "1e-6"\n'
    )
    monkeypatch.chdir(tmp_path)
    rc, doc = check_json(["check"], capsys)
    r = {b["budget"]: b for b in doc["models"][0]["budgets"]}
    assert rc == 0 and set(r) == {"max_latency_ms", "min_throughput_per_s", "max_params"}
    assert r["max_latency_ms"]["origin"].startswith("[tool.cnnscope.budget]")
    # the command line replaces the config's key: now it fails
    rc, out, _ = run(["check", "--max-latency-ms", "1e-6", *FAST], capsys)
    assert rc == 1 and "measured: median over " in out


def test_spec_budget_latency(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    rc, doc = check_json(["check", str(spec), "--no-config"], capsys)
    assert rc == 0 and doc["models"][0]["budgets"][0]["budget"] == "max_latency_ms"
    spec.write_text(TINY.replace("1e6", "1e-6"))
    rc, out, _ = run(["check", str(spec), "--no-config", "-f", "github", *FAST], capsys)
    assert rc == 1 and ",line=4," in out  # the annotation points at the spec's `max_latency_ms:` key


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["--device", "tpu"], "bad-option"),
        (["--latency-statistic", "p99"], "bad-option"),
        (["--iters", "0"], "bad-option"),
        (["--threads", "0"], "bad-option"),
    ],
)
def test_bad_measure_options_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], kind: str) -> None:
    rc, out, err = run(["check", "lenet5", "--max-latency-ms", "20", *args], capsys)
    assert rc == 2 and f"error[{kind}]" in err and out == ""


def test_cuda_without_cuda_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    rc, _, err = run(["check", "lenet5", "--max-latency-ms", "20", "--device", "cuda", *FAST], capsys)
    assert rc == 2 and "error[no-cuda]" in err


def test_misspelt_measured_figure_suggests_it(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(["check", "lenet5", "--budget", "max_latncy_ms=20"], capsys)
    assert rc == 2 and "latency_ms" in err


def test_pytest_helper_latency() -> None:
    check = assert_within_budget("cs231n-conv", max_latency_ms=1e6, max_params="1M", measure=QUICK)
    assert check.ok and check.measurement is not None and check.measurement["statistic"] == "median"
    with pytest.raises(AssertionError, match=r"max_latency_ms .*measured: p90 over "):
        assert_within_budget(
            "cs231n-conv", max_latency_ms=1e-6, measure=MeasureOptions(statistic="p90", warmup=1, iters=2, min_time_s=0)
        )
    assert not check_budget("cs231n-conv", min_throughput=1e12, measure=QUICK).ok


_IMPORTS = (
    "import sys; from cnnscope.cli.main import main; rc = main({argv!r}); print('torch' in sys.modules); sys.exit(rc)"
)


def _torch_imported(argv: list[str]) -> tuple[int, bool, str]:
    code = _IMPORTS.format(argv=argv)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout.strip().endswith("True"), proc.stderr


def test_yaml_gate_without_latency_budget_stays_torch_free() -> None:
    # the measurement flags alone do not measure, so they do not load torch
    argv = ["check", "lenet5", "--max-params", "1M", "--device", "cpu", "--latency-statistic", "p90", "-f", "json"]
    rc, imported, err = _torch_imported(argv)
    assert rc == 0 and not imported, err
    # and the harness notices when a latency budget does load it (not vacuous)
    rc, imported, err = _torch_imported(["check", "lenet5", "--max-latency-ms", "1e6", *FAST, "-f", "json"])
    assert rc == 0 and imported, err


def test_measure_settings_come_from_the_config_and_the_command_line_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cnnscope.budget import measure_options
    from cnnscope.config import find_config

    (tmp_path / "pyproject.toml").write_text(
        "[tool.cnnscope.measure]\nthreads = 1\nlatency_statistic = 'p90'\nwarmup = 2\niters = 3\nmin_time = 0.01\n"
    )
    monkeypatch.chdir(tmp_path)
    opts = measure_options(find_config(), dtype="float32")
    assert (opts.threads, opts.statistic, opts.warmup, opts.iters, opts.min_time_s) == (1, "p90", 2, 3, 0.01)
    assert opts.device == "cpu"  # not in the table: the default
    opts = measure_options(find_config(), dtype="float32", latency_statistic="median", iters=7)
    assert (opts.statistic, opts.iters, opts.threads) == ("median", 7, 1)


@pytest.mark.parametrize(
    ("table", "message"),
    [("iters = 'ten'", "must be int"), ("thread = 1", "did you mean `threads`"), ("device = 'tpu'", "--device")],
)
def test_bad_measure_settings_exit_2(
    table: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.cnnscope.measure]\n{table}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "lenet5", "--max-params", "1M"]) == 2
    assert message in capsys.readouterr().err
