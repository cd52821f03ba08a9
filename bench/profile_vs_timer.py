"""Does `cnnscope profile`'s median latency agree with torch.utils.benchmark.Timer?

Builds one module from a spec, makes one input, and times the same forward call both ways
on the CPU: cnnscope's engine (``cnnscope.profile.runner.measure``: warm-up, calibrated
blocks, minimum count and time) and ``Timer.blocked_autorange``. The two alternate, round by
round, so that a busy neighbour slows both alike; the figure compared is the median over
rounds of the paired difference (ours / Timer's - 1). The script prints every figure and
exits 1 when that difference exceeds --tolerance.

    python bench/profile_vs_timer.py                       # cs231n-conv, batch 16
    python bench/profile_vs_timer.py resnet18 --batch 8 --min-time 2 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys

import torch
from torch.utils.benchmark import Timer

import cnnscope
from cnnscope.profile.build import build_module
from cnnscope.profile.runner import Stats, measure


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", nargs="?", default="cs231n-conv")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds of timed work per measurement")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--tolerance", type=float, default=0.05, help="largest relative difference accepted")
    a = ap.parse_args(argv)

    if a.threads:
        torch.set_num_threads(a.threads)
    threads = torch.get_num_threads()
    graph = cnnscope.load(a.spec)
    module = build_module(graph)
    x = torch.randn(a.batch, *graph.input_shape)

    @torch.inference_mode()
    def forward() -> torch.Tensor:
        return module(x)  # type: ignore[no-any-return]

    for _ in range(5):  # warm-up, shared by both
        forward()

    timer = Timer(stmt="forward()", globals={"forward": forward}, num_threads=threads, label=a.spec)
    ours: list[float] = []
    theirs: list[float] = []
    print(f"{a.spec}, batch {a.batch}, CPU, {threads} threads, torch {torch.__version__}")
    print(f"{'round':>5}  {'cnnscope median':>16} {'p10..p90':>22} {'iters':>6}  {'Timer median':>13} {'runs':>6}")
    for r in range(a.rounds):
        t = measure(forward, torch.device("cpu"), min_blocks=10, min_time_s=a.min_time)
        s = Stats.of(t.samples_ms, t.calls_per_block)
        m = timer.blocked_autorange(min_run_time=a.min_time)
        ours.append(s.median_ms)
        theirs.append(m.median * 1e3)
        print(
            f"{r + 1:>5}  {s.median_ms:>13.3f} ms {s.p10_ms:>9.3f}..{s.p90_ms:<9.3f}ms {s.iters:>6}  "
            f"{m.median * 1e3:>10.3f} ms {len(m.times) * m.number_per_run:>6}"
        )
    a_med, b_med = statistics.median(ours), statistics.median(theirs)
    diff = statistics.median(o / t - 1 for o, t in zip(ours, theirs, strict=True))
    ok = abs(diff) <= a.tolerance
    print(
        f"median over rounds: cnnscope {a_med:.3f} ms, torch.utils.benchmark.Timer {b_med:.3f} ms, "
        f"paired difference (median) {100 * diff:+.2f}% ({'within' if ok else 'OUTSIDE'} ±{100 * a.tolerance:g}%)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
