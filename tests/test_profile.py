"""`cnnscope profile` / `run`: structure and internal consistency only, never speed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from published import LENET5_MACS  # noqa: E402

from cnnscope.cli.main import main  # noqa: E402
from cnnscope.profile import devices  # noqa: E402

FAST = ["--warmup", "1", "--iters", "2", "--min-time", "0"]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def run_json(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> dict[str, Any]:
    rc = main(["profile", *FAST, *args, "--format", "json"])  # a later --iters wins
    out, err = capsys.readouterr()
    assert rc == code, err
    data: dict[str, Any] = json.loads(out)
    return data


def check_batch(r: dict[str, Any]) -> None:
    """What holds whatever the clock reads: finite, non-negative times, quantiles in order, and
    the figures derived from them (the exact values are the fake clock's tests, below)."""
    lat = r["latency"]
    assert r["status"] == "ok"
    for key in ("min_ms", "p10_ms", "median_ms", "p90_ms", "max_ms", "mean_ms", "total_s"):
        assert math.isfinite(lat[key]) and lat[key] >= 0, key
    assert lat["min_ms"] <= lat["p10_ms"] <= lat["median_ms"] <= lat["p90_ms"] <= lat["max_ms"]  # of one sample
    # FAST: --iters 2 --min-time 0 stops at exactly two timed blocks
    assert lat["samples"] == 2 and lat["iters"] == lat["samples"] * lat["calls_per_block"]
    assert math.isclose(r["throughput_per_s"], r["batch"] / (lat["median_ms"] / 1e3), rel_tol=1e-9)
    assert math.isfinite(r["first_call_ms"]) and r["first_call_ms"] >= 0
    assert r["flops"] == 2 * r["macs"] > 0
    roof = r["roofline"]
    assert math.isclose(roof["achieved_flops_per_s"], r["flops"] / (lat["median_ms"] / 1e3), rel_tol=1e-9)
    assert roof["bound"] in ("compute", "memory")
    assert r["peak_memory_bytes"] >= 0 and r["memory_kind"]


def test_json_structure_and_consistency(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "lenet5", "--batch", "1,3")
    for key in (
        "model",
        "device",
        "dtype",
        "dtype_mode",
        "timer",
        "peak",
        "results",
        "interrupted",
        "warmup",
        "min_iters",
        "min_time_s",
        "threads",
        "compile_s",
    ):
        assert key in data
    assert data["device"] == "cpu" and data["timer"] == "host perf_counter" and data["dtype_mode"] == "cast"
    assert data["interrupted"] is False
    assert [r["batch"] for r in data["results"]] == [1, 3]
    for r in data["results"]:
        check_batch(r)
        assert "process peak RSS growth" in r["memory_kind"]
    # LeNet-5's MACs by hand (tests/test_zoo.py), one image and three
    assert [r["macs"] for r in data["results"]] == [LENET5_MACS, 3 * LENET5_MACS]


# -- exact figures from a fake clock (tests/conftest.py FakeClock) ---------------------------

# per sample, seconds: LeNet-5's two convolutions and first linear layer, every other layer 1 ms
LENET5_COSTS = {"conv1": 0.030, "conv2": 0.050, "fc1": 0.020}
LENET5_NAMES = [
    *("conv1", "relu1", "pool1", "conv2", "relu2", "pool2"),
    *("flatten", "fc1", "relu3", "fc2", "relu4", "fc3"),
]
OUTSIDE_LAYERS_S = 0.002  # each forward's own cost, outside its layers


def _lenet5_clock(clock: Any) -> float:
    clock.per_layer = {n: LENET5_COSTS.get(n, 0.001) for n in LENET5_NAMES}
    clock.per_forward = lambda k: OUTSIDE_LAYERS_S
    return sum(clock.per_layer.values())  # 0.030 + 0.050 + 0.020 + 9 · 0.001 = 0.109 s per sample


def test_figures_follow_from_the_clock(capsys: pytest.CaptureFixture[str], fake_clock: Any) -> None:
    per_sample = _lenet5_clock(fake_clock)
    assert math.isclose(per_sample, 0.109)
    data = run_json(capsys, "lenet5", "--batch", "1,3")
    for r in data["results"]:
        check_batch(r)
        b = r["batch"]
        forward_ms = (OUTSIDE_LAYERS_S + per_sample * b) * 1e3  # 111 ms for one image, 329 ms for three
        lat = r["latency"]
        figures = {**lat, "first_call_ms": r["first_call_ms"]}
        for key in ("min_ms", "p10_ms", "median_ms", "p90_ms", "max_ms", "mean_ms", "first_call_ms"):
            assert math.isclose(figures[key], forward_ms, rel_tol=1e-9), (b, key)
        # a forward lasts far more than the 1 ms block target: one call a block, two blocks
        assert (lat["samples"], lat["calls_per_block"], lat["iters"]) == (2, 1, 2)
        assert math.isclose(lat["total_s"], 2 * forward_ms / 1e3, rel_tol=1e-9)
        assert math.isclose(r["throughput_per_s"], b / (forward_ms / 1e3), rel_tol=1e-9)  # 9.01/s, 9.12/s
        assert r["macs"] == b * LENET5_MACS
        assert math.isclose(r["roofline"]["achieved_flops_per_s"], 2 * b * LENET5_MACS / (forward_ms / 1e3))


def test_quantiles_follow_from_the_clock(capsys: pytest.CaptureFixture[str], fake_clock: Any) -> None:
    # forwards cost 10, 20, 30, 40, 50 ms in turn: five timed blocks in a row see each once
    fake_clock.per_forward = lambda k: 0.010 * (1 + k % 5)
    data = run_json(capsys, "lenet5", "--iters", "5")
    lat = data["results"][0]["latency"]
    assert data["results"][0]["first_call_ms"] == pytest.approx(10)  # the very first forward, timed alone
    assert lat["samples"] == 5 and lat["calls_per_block"] == 1
    # sorted 10 20 30 40 50; p10 at rank 0.4: 10 + 0.4 · 10; p90 at rank 3.6: 40 + 0.6 · 10
    expected = {"min_ms": 10, "p10_ms": 14, "median_ms": 30, "mean_ms": 30, "p90_ms": 46, "max_ms": 50}
    assert {k: lat[k] for k in expected} == pytest.approx(expected)
    assert data["results"][0]["throughput_per_s"] == pytest.approx(1 / 0.030)


def test_per_layer_rows_for_every_layer(capsys: pytest.CaptureFixture[str], fake_clock: Any) -> None:
    import cnnscope

    assert [n.name for n in cnnscope.load("lenet5").nodes] == LENET5_NAMES
    per_sample = _lenet5_clock(fake_clock)
    data = run_json(capsys, "lenet5", "--batch", "2", "--per-layer")
    r = data["results"][0]
    check_batch(r)
    assert [row["name"] for row in r["layers"]] == LENET5_NAMES
    for row in r["layers"]:  # each layer's own cost, two images, in ms
        cost = fake_clock.per_layer[row["name"]]
        assert math.isclose(row["time_ms"], 2 * cost * 1e3, rel_tol=1e-9), row["name"]
        assert math.isclose(row["share"], cost / per_sample, rel_tol=1e-9), row["name"]
    pl = r["per_layer"]
    assert math.isclose(pl["sum_layers_ms"], 2 * per_sample * 1e3, rel_tol=1e-9)  # 218 ms
    forward_ms = (OUTSIDE_LAYERS_S + 2 * per_sample) * 1e3  # 220 ms
    assert math.isclose(pl["end_to_end_ms"], forward_ms, rel_tol=1e-9)
    assert pl["end_to_end_ms"] == r["latency"]["median_ms"]
    assert math.isclose(pl["hooked_forward_ms"], forward_ms, rel_tol=1e-9)  # the hooks cost no fake time
    assert math.isclose(pl["overhead_ms"], -OUTSIDE_LAYERS_S * 1e3, rel_tol=1e-9)  # sum of layers − end to end
    assert sum(row["macs"] for row in r["layers"]) == r["macs"] == 2 * LENET5_MACS
    for row in r["layers"]:
        if row["flops"] == 0:
            assert row["achieved_flops_per_s"] is None and row["bound"] == "memory"
        else:
            assert math.isclose(row["achieved_flops_per_s"], row["flops"] / (row["time_ms"] / 1e3), rel_tol=1e-9)


def test_top_n(capsys: pytest.CaptureFixture[str], fake_clock: Any) -> None:
    _lenet5_clock(fake_clock)
    data = run_json(capsys, "lenet5", "--per-layer", "--top", "3")
    r = data["results"][0]
    # the three costliest layers, costliest first: conv2 50 ms, conv1 30 ms, fc1 20 ms
    assert [(row["name"], round(row["time_ms"], 6)) for row in r["layers"]] == [
        ("conv2", 50.0),
        ("conv1", 30.0),
        ("fc1", 20.0),
    ]
    assert r["layers_omitted"] == 12 - 3


def test_run_alias_and_formats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "cs231n-conv", *FAST, "--per-layer", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("batch,name,type,time_ms,share")
    assert len(out) == 1 + 5
    assert main(["run", "cs231n-conv", *FAST, "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("batch,status,latency.median_ms")
    assert main(["profile", "cs231n-conv", *FAST, "--per-layer", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "| batch |" in md and "per layer, batch 1" in md and "per-layer mode" in md
    assert main(["profile", "cs231n-conv", *FAST, "--format", "table"]) == 0
    assert "samples/s" in capsys.readouterr().out


def test_bf16_channels_last_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "cs231n-conv", "--dtype", "bf16", "--channels-last", "--threads", "1")
    assert data["dtype"] == "bfloat16" and data["channels_last"] is True and data["threads"] == 1
    check_batch(data["results"][0])


def test_cuda_without_cuda_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert main(["profile", "lenet5", "--device", "cuda", *FAST]) == 2
    assert "error[no-cuda]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--device", "tpu"],
        ["--dtype", "int8"],
        ["--batch", "0"],
        ["--batch", "a"],
        ["--iters", "0"],
        ["--top", "0"],
        ["--format", "xml"],
        ["--peak-tflops", "-1"],
    ],
)
def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert main(["profile", "lenet5", *FAST, *args]) == 2
    assert "error[" in capsys.readouterr().err


def _fail_at(monkeypatch: pytest.MonkeyPatch, batch: int, exc: BaseException) -> None:
    from cnnscope.profile.build import GraphModule

    real = GraphModule.forward

    def forward(self: Any, x: Any, return_all: bool = False) -> Any:
        if x.shape[0] == batch:
            raise exc
        return real(self, x, return_all)

    monkeypatch.setattr(GraphModule, "forward", forward)


def test_oom_at_one_batch_size_is_reported_and_sweep_goes_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_at(monkeypatch, 2, torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    data = run_json(capsys, "lenet5", "--batch", "1,2,3")
    statuses = [(r["batch"], r["status"]) for r in data["results"]]
    assert statuses == [(1, "ok"), (2, "oom"), (3, "ok")]
    assert "out of memory" in data["results"][1]["error"]
    assert data["results"][1]["latency"] is None
    check_batch(data["results"][2])


def test_ctrl_c_keeps_what_was_measured(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_at(monkeypatch, 2, KeyboardInterrupt())
    data = run_json(capsys, "lenet5", "--batch", "1,2,3", code=130)
    assert data["interrupted"] is True
    assert [(r["batch"], r["status"]) for r in data["results"]] == [(1, "ok"), (2, "interrupted")]
    check_batch(data["results"][0])


def test_ctrl_c_during_timing_keeps_samples() -> None:
    from cnnscope.profile.runner import measure

    calls = {"n": 0}

    def fn() -> None:
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt

    t = measure(fn, torch.device("cpu"), min_blocks=100, min_time_s=0, block_target_s=0)
    assert t.interrupted and t.calls_per_block == 1 and len(t.samples_ms) == 4  # call 1 calibrates


def test_measure_respects_min_blocks_and_min_time(fake_clock: Any) -> None:
    from cnnscope.profile.runner import Stats, measure

    def work() -> None:  # one call: 2⁻⁸ s = 3.90625 ms of fake time
        fake_clock.advance(2**-8)

    # calls a block: ceil(0.01 s target / 0.00390625 s) = ceil(2.56) = 3, so a block lasts 0.01171875 s;
    # 0.05 s of timed work takes ceil(0.05 / 0.01171875) = ceil(4.27) = 5 blocks
    for min_blocks, blocks in ((3, 5), (7, 7)):  # min_time binds first, then min_blocks
        t = measure(work, torch.device("cpu"), min_blocks=min_blocks, min_time_s=0.05, block_target_s=0.01)
        assert (len(t.samples_ms), t.calls_per_block, t.interrupted) == (blocks, 3, False)
        assert t.samples_ms == [3.90625] * blocks  # per call, in ms
    s = Stats.of([4.0, 1.0, 3.0, 2.0], calls_per_block=3)
    assert (s.samples, s.iters, s.min_ms, s.max_ms, s.mean_ms) == (4, 12, 1.0, 4.0, 2.5)
    assert s.median_ms == 2.5 and math.isclose(s.p10_ms, 1.3) and math.isclose(s.p90_ms, 3.7)  # ranks 0.3, 2.7
    assert math.isclose(s.total_s, (1 + 2 + 3 + 4) * 3 / 1e3)  # per-call ms × calls per block


def test_quantile() -> None:
    from cnnscope.profile.runner import quantile

    assert quantile([5.0], 0.9) == 5.0
    assert quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert math.isclose(quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.1), 1.4)


def test_per_layer_hooks_removed() -> None:
    import cnnscope
    from cnnscope.profile.build import build_module
    from cnnscope.profile.perlayer import time_layers

    g = cnnscope.load("lenet5")
    m = build_module(g)
    names = [n.name for n in g.nodes]
    x = torch.randn(1, *g.input_shape)
    with torch.inference_mode():
        t = time_layers(m, names, lambda: m(x), torch.device("cpu"), runs=2)
    assert set(t.layer_ms) == set(names) and t.runs == 2
    assert all(not m.layer(n)._forward_hooks and not m.layer(n)._forward_pre_hooks for n in names)


def test_device_table_and_overrides() -> None:
    assert devices.lookup_gpu("NVIDIA H100 80GB HBM3").label == "NVIDIA H100 SXM"  # type: ignore[union-attr]
    assert devices.lookup_gpu("NVIDIA H100 PCIe").label == "NVIDIA H100 PCIe"  # type: ignore[union-attr]
    assert devices.lookup_gpu("NVIDIA A100-SXM4-80GB").label == "NVIDIA A100 80GB"  # type: ignore[union-attr]
    assert devices.lookup_gpu("Some Future GPU") is None
    p = devices.device_peak("cuda", "NVIDIA H100 80GB HBM3", "bfloat16")
    assert p.flops_per_s == 989.4e12 and p.bytes_per_s == 3350e9 and not p.estimated
    assert devices.device_peak("cuda", "NVIDIA H100 80GB HBM3", "float32", tf32=True).flops_per_s == 494.7e12
    unknown = devices.device_peak("cuda", "Some Future GPU", "float32")
    assert unknown.flops_per_s is None and unknown.ridge is None
    cpu = devices.device_peak("cpu", "cpu", "float32", threads=2, peak_tflops=1.5, peak_gbps=50)
    assert cpu.flops_per_s == 1.5e12 and cpu.bytes_per_s == 50e9 and not cpu.estimated
    assert cpu.ridge == 1.5e12 / 50e9
    assert devices.device_peak("cpu", "cpu", "float32", threads=2).estimated


def test_roofline_bound_follows_ridge() -> None:
    from cnnscope.profile.perlayer import roofline

    peak = devices.DevicePeak("x", 100e12, 1e12, "test")  # ridge 100 FLOP/B
    hi = roofline(1e9, 1e6, 1e-3, peak)  # 1000 FLOP/B
    lo = roofline(1e9, 1e8, 1e-3, peak)  # 10 FLOP/B
    assert hi["bound"] == "compute" and lo["bound"] == "memory"
    assert math.isclose(hi["pct_of_peak_flops"], 1e12 / 100e12)
    assert math.isclose(lo["pct_of_roof"], 1e12 / (10 * 1e12))


def test_peak_override_in_output(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "cs231n-conv", "--peak-tflops", "2", "--peak-gbps", "40")
    assert data["peak"]["flops_per_s"] == 2e12 and data["peak"]["ridge_flop_per_byte"] == 50
    r = data["results"][0]
    assert math.isclose(r["roofline"]["pct_of_peak_flops"], r["roofline"]["achieved_flops_per_s"] / 2e12)


def test_default_model_from_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cnnscope.cli.profile_cmd import DEFAULT_MODEL, resolve_source

    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    src, why = resolve_source(None)
    assert src == DEFAULT_MODEL and "default" in why
    assert resolve_source("lenet5") == ("lenet5", "")
    (tmp_path / "cnnscope.toml").write_text('model = "cs231n-conv"\n')
    rc = main(["profile", *FAST, "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0 and json.loads(out)["model"] == "cs231n-conv"
    assert "cs231n-conv" in err and "cnnscope.toml" in err


def test_cli_help_does_not_import_torch() -> None:
    code = (
        "import sys; from cnnscope.cli.main import main; main(['--help']); main(['profile', '--help']); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.cuda
@needs_cuda
def test_cuda_profile(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "lenet5", "--device", "cuda", "--batch", "1,4", "--per-layer")
    assert data["timer"] == "cuda-events" and data["device"].startswith("cuda")
    for r in data["results"]:
        check_batch(r)
        assert r["peak_memory_bytes"] > 0 and "CUDA allocator peak" in r["memory_kind"]
        assert len(r["layers"]) == 12


@pytest.mark.cuda
@needs_cuda
def test_cuda_bf16_channels_last(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "cs231n-conv", "--device", "cuda:0", "--dtype", "bfloat16", "--channels-last")
    check_batch(data["results"][0])
    assert data["peak"]["source"]


@pytest.mark.cuda
@needs_cuda
def test_cuda_bad_index_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "lenet5", "--device", f"cuda:{torch.cuda.device_count()}", *FAST]) == 2
    assert "error[no-such-device]" in capsys.readouterr().err


@pytest.mark.parametrize("fail", [False, True])
def test_threads_hold_for_the_passes_only(fake_clock: Any, monkeypatch: pytest.MonkeyPatch, fail: bool) -> None:
    """`--threads` (and a measured budget's `threads`) set torch's count for the timed passes and
    give the caller's count back after, also when the run fails: check and assert_within_budget
    time inside someone else's process."""
    from cnnscope.frontends.sources import load
    from cnnscope.profile import runner
    from cnnscope.profile.options import ProfileOptions

    fake_clock.per_forward = lambda k: 0.001
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    seen: list[int] = []
    if fail:

        def boom(*args: Any, **kwargs: Any) -> Any:
            seen.append(torch.get_num_threads())
            raise RuntimeError("the forward pass failed")

        monkeypatch.setattr(runner, "_profile", boom)
    opts = ProfileOptions(threads=other, warmup=1, iters=1, min_time_s=0.0)
    if fail:
        with pytest.raises(RuntimeError):
            runner.profile(load("lenet5"), opts)
    else:
        result = runner.profile(load("lenet5"), opts)
        seen.append(result.threads)
    assert seen == [other]  # the passes ran at the asked count...
    assert torch.get_num_threads() == before  # ...and the caller's count is back
