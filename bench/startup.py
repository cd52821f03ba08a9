"""Whole-process start-up: `cnnscope summary resnet50` vs the peers, alternating, one run.

    python bench/startup.py [--rounds 7] [--model resnet50]

Each round runs every tool once as a fresh process (in turn, so machine noise hits all
alike) and the table reports the median and min wall time per tool, and the ratio to
cnnscope. Peers that are not installed are skipped with a note (pip install torchinfo).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

PEERS = {
    "torchinfo.summary": (
        "torchinfo",
        "import torch, torchinfo; from models import resnet50; "
        "torchinfo.summary(resnet50(), (1, 3, 224, 224), verbose=0)",
    ),
    "fvcore FlopCountAnalysis": (
        "fvcore",
        "import torch; from fvcore.nn import FlopCountAnalysis; from models import resnet50; "
        "f = FlopCountAnalysis(resnet50(), torch.zeros(1, 3, 224, 224)); "
        "f.unsupported_ops_warnings(False); f.uncalled_modules_warnings(False); f.total()",
    ),
    "torch.utils.flop_counter": (
        "torch",
        "import torch; from torch.utils.flop_counter import FlopCounterMode; from models import resnet50; "
        "m = resnet50()\nwith FlopCounterMode(display=False) as c: m(torch.zeros(1, 3, 224, 224))\nc.get_total_flops()",
    ),
}


def available(mod: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(mod) is not None


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--model", default="resnet50", help="built-in spec cnnscope analyzes")
    args = ap.parse_args()
    exe = shutil.which("cnnscope")
    ours = [exe] if exe else [sys.executable, "-m", "cnnscope"]
    tools: dict[str, list[str]] = {f"cnnscope summary {args.model}": [*ours, "summary", args.model, "-f", "json"]}
    for name, (mod, code) in PEERS.items():
        if available(mod):
            tools[name] = [sys.executable, "-c", code]
        else:
            print(f"note: {name} skipped ({mod} is not installed)")
    times: dict[str, list[float]] = {k: [] for k in tools}
    for cmd in tools.values():  # one untimed run each: warm the file cache
        run(cmd)
    for _ in range(args.rounds):
        for name, cmd in tools.items():
            times[name].append(run(cmd))
    base = statistics.median(times[next(iter(tools))])
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; {args.rounds} alternating rounds")
    print(f"{'tool':32} {'median s':>9} {'min s':>7} {'× cnnscope':>11}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:32} {med:9.3f} {min(ts):7.3f} {med / base:11.1f}")


if __name__ == "__main__":
    main()
