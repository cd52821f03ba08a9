"""Does `cnnscope profile`'s median agree with torch.utils.benchmark.Timer.blocked_autorange?

One module is built from the spec and one input made; both tools time that module on that
input, interleaved in one process (profile, Timer, profile, Timer, ...), at each thread count.
The cnnscope side is the `profile` command's own code, ``cnnscope.profile.runner.profile``
(warm-up, a calibrated block size, blocks until the minimum count and time), handed the module
and the input; the Timer side is ``Timer("module(x)").blocked_autorange(min_run_time=...)``
under ``torch.inference_mode``, as profile runs. Each round gives each tool a median; the
table gives per tool the median over rounds, the spread of the round medians (min..max) and
the spread within a round (profile's p10..p90 of its blocks, Timer's IQR, medians over rounds),
and the paired difference: the median over rounds of profile / Timer - 1. Exits 1 when that
exceeds --tolerance at a thread count.

    python bench/profile_vs_timer.py                          # cs231n-conv, batch 16, 1 and 2 threads
    python bench/profile_vs_timer.py resnet18 --batch 8 --min-time 2 --rounds 5
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys

import torch
from torch.utils.benchmark import Timer

import cnnscope
from cnnscope.profile.build import build_module
from cnnscope.profile.runner import ProfileOptions, profile


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", nargs="?", default="cs231n-conv")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds of timed work per measurement")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--tolerance", type=float, default=0.05, help="largest relative difference accepted")
    a = ap.parse_args(argv)

    torch.manual_seed(0)
    graph = cnnscope.load(a.spec)
    module = build_module(graph).eval()
    x = torch.randn(a.batch, *graph.input_shape)
    print(
        f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}; {a.spec}, batch {a.batch}, CPU, {a.rounds} interleaved rounds of "
        f"{a.min_time:g} s each; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'threads':>7}  {'tool':>8}  {'median ms':>10}  {'rounds min..max ms':>19}  "
        f"{'within a round':>24}  {'paired diff':>11}"
    )
    ok = True
    for threads in (int(t) for t in a.threads.split(",")):
        opts = ProfileOptions(batches=(a.batch,), threads=threads, min_time_s=a.min_time)
        timer = Timer(stmt="module(x)", globals={"module": module, "x": x}, num_threads=threads)
        ours: list[tuple[float, float, float]] = []  # median, p10, p90
        theirs: list[tuple[float, float]] = []  # median, IQR
        for _ in range(a.rounds):
            lat = profile(graph, opts, module=module, make_input=lambda b: x).results[0].latency
            assert lat is not None
            ours.append((lat.median_ms, lat.p10_ms, lat.p90_ms))
            with torch.inference_mode():
                m = timer.blocked_autorange(min_run_time=a.min_time)
            theirs.append((m.median * 1e3, m.iqr * 1e3))
        diff = statistics.median(o[0] / t[0] - 1 for o, t in zip(ours, theirs, strict=True))
        ok = ok and abs(diff) <= a.tolerance
        o_med = statistics.median(o[0] for o in ours)
        t_med = statistics.median(t[0] for t in theirs)
        o_rng = f"{min(o[0] for o in ours):.3f}..{max(o[0] for o in ours):.3f}"
        t_rng = f"{min(t[0] for t in theirs):.3f}..{max(t[0] for t in theirs):.3f}"
        o_in = f"p10..p90 {statistics.median(o[1] for o in ours):.3f}..{statistics.median(o[2] for o in ours):.3f}"
        t_in = f"IQR {statistics.median(t[1] for t in theirs):.3f}"
        verdict = f"{100 * diff:+.2f}% ({'within' if abs(diff) <= a.tolerance else 'OUTSIDE'} ±{100 * a.tolerance:g}%)"
        print(f"{threads:>7}  {'profile':>8}  {o_med:>10.3f}  {o_rng:>19}  {o_in:>24}  {verdict}")
        print(f"{threads:>7}  {'Timer':>8}  {t_med:>10.3f}  {t_rng:>19}  {t_in:>24}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
