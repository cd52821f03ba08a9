"""Scale: generated specs of 1,000 / 10,000 / 100,000 layers, deep chains and wide
branchy graphs; whole-process time and peak memory of `cnnscope params --format json`,
and in-process time of load + analyze alone.

    python bench/scale.py [--sizes 1000,10000,100000] [--repeat 3]

Time per layer should stay flat as the size grows (linear time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def chain(n: int) -> str:
    lines = ["input: [8, 32, 32]", "layers:"]
    for _ in range(n // 2):
        lines.append("  - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}")
        lines.append("  - relu")
    return "\n".join(lines) + "\n"


def branchy(n: int) -> str:
    """Residual-style: each unit is two parallel convolutions, an add, a relu (4 layers)."""
    lines = ["input: [8, 32, 32]", "layers:"]
    prev = "input"
    for i in range(n // 4):
        lines.append(f"  - {{name: a{i}, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, from: {prev}}}")
        lines.append(f"  - {{name: b{i}, type: conv2d, out_channels: 8, kernel_size: 1, from: {prev}}}")
        lines.append(f"  - {{name: c{i}, type: add, from: [a{i}, b{i}]}}")
        lines.append(f"  - {{name: r{i}, type: relu}}")
        prev = f"r{i}"
    return "\n".join(lines) + "\n"


CHILD = """
import sys, time, io, contextlib
t = time.perf_counter()
from cnnscope.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["params", sys.argv[1], "-f", "json"])
wall = time.perf_counter() - t
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(code, wall, hwm)
"""


def in_process(path: Path) -> float:
    import cnnscope

    t = time.perf_counter()
    cnnscope.analyze(cnnscope.load(str(path)), ["params"])
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; median of {args.repeat}")
    print(f"{'graph':8} {'layers':>8} {'process s':>10} {'load+analyze s':>15} {'µs/layer':>9} {'peak RSS MiB':>13}")
    with tempfile.TemporaryDirectory() as d:
        for kind, make in (("chain", chain), ("branchy", branchy)):
            for n in sizes:
                path = Path(d) / f"{kind}{n}.yaml"
                path.write_text(make(n))
                walls, rss = [], 0
                for _ in range(args.repeat):
                    out = subprocess.run(
                        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True
                    ).stdout.split()
                    assert out[0] == "0", out
                    walls.append(float(out[1]))
                    rss = max(rss, int(out[2]))
                inner = statistics.median(in_process(path) for _ in range(args.repeat))
                wall = statistics.median(walls)
                print(f"{kind:8} {n:8,} {wall:10.3f} {inner:15.3f} {inner / n * 1e6:9.1f} {rss / 1024:13.1f}")


if __name__ == "__main__":
    main()
