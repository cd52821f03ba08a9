"""How long does cnnscope take to analyze a torch module, next to fvcore's FlopCountAnalysis?

One process, one ResNet-50 (torchvision's when it is installed, else the plain-torch copy in
bench/models.py), alternating rounds so that a busy neighbour slows both alike:

- cnnscope: ``capture(model, (3, 224, 224))`` (torch.fx trace + shapes on fake tensors, every
  node mapped to a layer type) and ``analyze(graph, ["params", "compute"])``;
- fvcore: ``FlopCountAnalysis(model, x).total()`` (a TorchScript trace on a real input).

Prints the median and minimum per tool, their ratio, the two MAC totals (they must agree) and
the machine (fvcore's total is higher: it also counts batch-norm and pooling). ``--profile``
adds a cProfile of one cnnscope round (top functions by own time).

    python bench/module_vs_fvcore.py
    python bench/module_vs_fvcore.py --rounds 9 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cnnscope
from cnnscope.frontends.torch.capture import capture


def model() -> tuple[torch.nn.Module, str]:
    try:
        import torchvision.models as tvm

        return tvm.resnet50(weights=None), "torchvision.models.resnet50"
    except ImportError:
        from bench.models import resnet50

        return resnet50(), "bench/models.py ResNet-50 (torchvision not installed)"


def ours(m: torch.nn.Module) -> int:
    graph = capture(m, (3, 224, 224), name="resnet50")
    report = cnnscope.analyze(graph, ["params", "compute"])
    return int(report.totals["macs"])


def fvcore(m: torch.nn.Module, x: torch.Tensor) -> int:
    from fvcore.nn import FlopCountAnalysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fca = FlopCountAnalysis(m, x)
        fca.unsupported_ops_warnings(False)
        fca.uncalled_modules_warnings(False)
        return int(fca.total())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="cProfile one cnnscope round")
    a = ap.parse_args(argv)

    m, what = model()
    m.eval()
    x = torch.randn(1, 3, 224, 224)
    macs_ours, macs_fv = ours(m), fvcore(m, x)  # warm-up (imports, first-call caches)
    times: dict[str, list[float]] = {"cnnscope": [], "fvcore": []}
    runs: dict[str, Any] = {"cnnscope": lambda: ours(m), "fvcore": lambda: fvcore(m, x)}
    for r in range(a.rounds):
        order = ["cnnscope", "fvcore"] if r % 2 == 0 else ["fvcore", "cnnscope"]
        for tool in order:
            t0 = time.perf_counter()
            runs[tool]()
            times[tool].append(time.perf_counter() - t0)

    print(f"model: {what}, input 1x3x224x224, {a.rounds} alternating rounds")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}"
    )
    for tool, ts in times.items():
        print(f"{tool:>9}: median {statistics.median(ts) * 1e3:8.1f} ms   min {min(ts) * 1e3:8.1f} ms")
    ratio = statistics.median(times["cnnscope"]) / statistics.median(times["fvcore"])
    print(
        f"    ratio: cnnscope / fvcore = {ratio:.2f} (median), "
        f"{min(times['cnnscope']) / min(times['fvcore']):.2f} (min)"
    )
    print(f"     MACs: cnnscope {macs_ours:,}   fvcore {macs_fv:,} (fvcore also counts batch-norm and pooling)")
    if a.profile:
        prof = cProfile.Profile()
        prof.runcall(ours, m)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
