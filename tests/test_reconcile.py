"""`reconcile`: published and measured figures are traced back to the convention that made them.

Oracles: torchvision's published GFLOPS (../shared/reference), and the real outputs of fvcore
and FlopCounterMode (installed in the test venv: these run) and of ptflops, thop, torchinfo and
DeepSpeed (skipped where not installed) on the modules built from the specs.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import cnnscope
from cnnscope.cli.main import main
from cnnscope.errors import UsageError
from cnnscope.whatif.conventions import TOOLS, Convention
from cnnscope.whatif.reconcile import breakdown, parse_figure, parts, reconcile

TORCHVISION = "torchvision GFLOPS / the paper / DeepSpeed macs"
MODELS = ["lenet5", "alexnet", "resnet18", "resnet50", "mobilenet_v2", "squeezenet1_0", "googlenet", "convnext_tiny"]


def tools_matching(graph: cnnscope.Graph, kind: str, text: str) -> list[str]:
    res = reconcile(graph, kind, text)
    return [t for m in res["matches"] for t in m["tools"]]


def test_parse_figure() -> None:
    v, tol = parse_figure("4.1G", "--flops")
    assert v == 4_100_000_000 and tol == 50_000_000  # half a unit of the last printed digit: 0.05 G
    v, tol = parse_figure("1,814,073,344", "--macs")
    assert v == 1_814_073_344 and tol == 0.5
    assert parse_figure("1.82e9", "--flops")[1] == 5_000_000
    assert parse_figure("4.089 GFLOPS", "--flops")[0] == 4_089_000_000
    assert parse_figure("11.69M", "--params")[0] == 11_690_000
    for bad in ("abc", "4.1X", "-3G", "0"):
        with pytest.raises(UsageError):
            parse_figure(bad, "--flops")


def test_breakdown_by_hand() -> None:
    """cs231n-conv at 32×32: conv 750·32·32 = 768,000 MACs, fc 10·16·16·10 = 25,600; bias adds
    10·32·32 + 10 = 10,250; relu 10,240; max pool 2×2: 3 comparisons × 2,560 outputs = 7,680,
    its input 10,240 elements."""
    p = parts(cnnscope.load("cs231n-conv"))
    assert p.macs == 768_000 + 25_600
    bd = breakdown(p, Convention(per_mac=2, bias="all", act=1, pool="cnnscope"))
    assert bd == {"macs": 2 * 793_600, "bias": 10_250, "activation": 10_240, "pool": 7_680}
    assert breakdown(p, Convention(bias="conv", pool="all-in"))["bias"] == 10_240
    assert breakdown(p, Convention(pool="all-in-x2"))["pool"] == 2 * 10_240


def test_resnet50_41g_is_torchvision_first() -> None:
    res = reconcile(cnnscope.load("resnet50"), "flops", "4.1G")
    best = res["matches"][0]
    assert TORCHVISION in best["tools"] and best["size"] == [224, 224] and best["batch"] == 1
    named = {t for m in res["matches"] for t in m["tools"]}
    assert {"fvcore", "thop", "torchinfo"} <= named  # all within 4.05-4.15 G at 224


def test_nothing_matches_gives_nearest() -> None:
    res = reconcile(cnnscope.load("resnet18"), "flops", "9.99G")
    assert res["matches"] == [] and len(res["nearest"]) == 5
    assert res["nearest"][0]["distance"] <= res["nearest"][-1]["distance"]


def test_params() -> None:
    # torchvision num_params of resnet18: 11,689,512
    res = reconcile(cnnscope.load("resnet18"), "params", "11,689,512")
    assert res["matches"][0]["convention"] == "numel of every parameter"


def test_batch_n() -> None:
    g = cnnscope.load("resnet18")
    res = reconcile(g, "macs", f"{8 * 1_814_073_344:,}", batch=8)
    assert res["matches"][0]["batch"] == 8


def test_published_torchvision_figures(shared: Path) -> None:
    ref = json.loads((shared / "reference" / "torchvision_models.json").read_text())
    from cnnscope.cli.zoo_cmd import __name__ as _  # noqa: F401  (the zoo is importable)

    checked = 0
    for entry in ref:
        name = entry["model"]
        try:
            g = cnnscope.load(name)
        except cnnscope.CnnscopeError:
            continue  # no built-in spec of this model
        if entry["eval_crop_size"] != 224:
            continue
        res = reconcile(g, "flops", f"{entry['gflops']}G")
        first = next(m for m in res["matches"] if m["tools"])
        assert TORCHVISION in first["tools"], (name, first)
        checked += 1
    assert checked >= 10


def _fvcore_total(module: Any, x: Any) -> int:
    from fvcore.nn import FlopCountAnalysis

    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca = FlopCountAnalysis(module, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return int(fca.total())


@pytest.mark.parametrize("name", MODELS)
def test_real_fvcore_and_flopcountermode(name: str) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from torch.utils.flop_counter import FlopCounterMode

    from cnnscope.profile.build import build_module

    g = cnnscope.load(name)
    m = build_module(g).eval()
    x = torch.randn(1, *g.input_shape)
    assert "fvcore" in tools_matching(g, "flops", str(_fvcore_total(m, x)))
    with FlopCounterMode(display=False) as counter:
        m(x)
    assert "FlopCounterMode" in tools_matching(g, "flops", str(counter.get_total_flops()))


PEERS = ["alexnet", "resnet18", "mobilenet_v2", "squeezenet1_0"]


def _quiet(fn: Any) -> Any:
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        return fn()


def _peer_figures(name: str) -> dict[str, int]:
    torch = pytest.importorskip("torch")
    from cnnscope.profile.build import build_module

    g = cnnscope.load(name)
    m = build_module(g).eval()
    x = torch.randn(1, *g.input_shape)
    out: dict[str, int] = {}
    with contextlib.suppress(ImportError):
        from ptflops import get_model_complexity_info

        for backend, label in (("pytorch", "ptflops (pytorch backend)"), ("aten", "ptflops (aten backend)")):
            macs, _ = _quiet(
                lambda b=backend: get_model_complexity_info(
                    m, tuple(g.input_shape), as_strings=False, print_per_layer_stat=False, backend=b
                )
            )
            out[label] = int(macs)
    with contextlib.suppress(ImportError):
        import thop

        out["thop"] = int(_quiet(lambda: thop.profile(m, inputs=(x,), verbose=False))[0])
    with contextlib.suppress(ImportError):
        import torchinfo

        out["torchinfo"] = int(_quiet(lambda: torchinfo.summary(m, input_data=x, verbose=0)).total_mult_adds)
    with contextlib.suppress(ImportError):
        from deepspeed.profiling.flops_profiler import get_model_profile

        flops, _macs, _ = _quiet(
            lambda: get_model_profile(m, input_shape=(1, *g.input_shape), print_profile=False, as_string=False)
        )
        out["DeepSpeed flops"] = int(flops)
    return out


@pytest.mark.parametrize("name", PEERS)
def test_peer_tools(name: str) -> None:
    figures = _peer_figures(name)
    if not figures:
        pytest.skip("none of ptflops, thop, torchinfo, DeepSpeed is installed")
    g = cnnscope.load(name)
    for tool, value in figures.items():
        assert tool in TOOLS
        assert tool in tools_matching(g, "flops", str(value)), (name, tool, value)


@pytest.mark.parametrize(
    "argv",
    [
        ["reconcile", "resnet18"],
        ["reconcile", "resnet18", "--flops", "1G", "--macs", "1G"],
        ["reconcile", "resnet18", "--flops", "lots"],
        ["reconcile", "resnet18", "--macs", "0"],
    ],
)
def test_cli_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error[" in err and "Traceback" not in err


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_cli_formats(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", "resnet18", "--flops", "1.819G", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "fvcore" in out
