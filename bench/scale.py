"""Scale: generated specs of 1,000 / 10,000 / 100,000 layers, a deep chain and a wide branchy
graph, through the whole CLI process.

    python bench/scale.py [--sizes 1000,10000,100000] [--rounds 5] [--command params]

Each round runs every (graph, size) once as a fresh ``cnnscope COMMAND SPEC -f json`` process
(the console script, interpreter start-up included; output to /dev/null), in turn; the table
gives the median and the minimum wall time over rounds, the median per layer, and the peak
resident memory (VmHWM, read in a child that runs the same command in-process: a child's
``ru_maxrss`` starts from its parent's). Time and memory per layer should stay flat as the
size grows: linear.

Both graphs repeat one layer configuration (as a ResNet stage repeats its block), so the
loader builds one layer object per distinct configuration and the analyzers compute each
distinct layer once per input shape; ``--varied`` gives every convolution its own channel count
(nothing repeats) to measure without that.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def chain(n: int, varied: bool = False) -> str:
    lines = ["input: [8, 32, 32]", "layers:"]
    for i in range(n // 2):
        c = 8 + (i % 997) if varied else 8
        lines.append(f"  - {{type: conv2d, out_channels: {c}, kernel_size: 3, padding: 1}}")
        lines.append("  - relu")
    return "\n".join(lines) + "\n"


def branchy(n: int, varied: bool = False) -> str:
    """Residual-style: each unit is two parallel convolutions, an add, a relu (4 layers)."""
    lines = ["input: [8, 32, 32]", "layers:"]
    prev = "input"
    for i in range(n // 4):
        c = 8 + (i % 997) if varied else 8
        lines.append(f"  - {{name: a{i}, type: conv2d, out_channels: {c}, kernel_size: 3, padding: 1, from: {prev}}}")
        lines.append(f"  - {{name: b{i}, type: conv2d, out_channels: {c}, kernel_size: 1, from: {prev}}}")
        lines.append(f"  - {{name: c{i}, type: add, from: [a{i}, b{i}]}}")
        lines.append(f"  - {{name: r{i}, type: relu}}")
        prev = f"r{i}"
    return "\n".join(lines) + "\n"


PEAK = """
import sys, io, contextlib
from cnnscope.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(code, hwm)
"""


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    took = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return took


def pace() -> float:
    """Seconds this interpreter takes to add ten million integers (best of three)."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--command", default="params", help="the analytic command to run (params, summary, ...)")
    ap.add_argument("--varied", action="store_true", help="every convolution its own channel count")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    env = dict(os.environ)
    if env.pop("PYTHONDONTWRITEBYTECODE", None) and "PYTHONPYCACHEPREFIX" not in env:
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="cnnscope-bench-pyc-")
    script = Path(sys.executable).with_name("cnnscope")
    ours = [str(script)] if script.exists() else [sys.executable, "-m", "cnnscope"]
    with tempfile.TemporaryDirectory() as d:
        specs: dict[tuple[str, int], Path] = {}
        for kind, make in (("chain", chain), ("branchy", branchy)):
            for n in sizes:
                path = Path(d) / f"{kind}{n}.yaml"
                path.write_text(make(n, args.varied))
                specs[kind, n] = path
        argv = {k: [args.command, str(p), "-f", "json"] for k, p in specs.items()}
        peak = {}
        for k, a in argv.items():  # untimed: warms the caches, and reads the peak memory
            wall([*ours, *a], env)
            out = subprocess.run([sys.executable, "-c", PEAK, *a], capture_output=True, text=True, env=env, check=True)
            code, hwm = out.stdout.split()
            assert code == "0", out
            peak[k] = int(hwm) / 1024
        load = os.getloadavg()[0]
        speed = pace()
        times: dict[tuple[str, int], list[float]] = {k: [] for k in argv}
        for _ in range(args.rounds):
            for k, a in argv.items():
                times[k].append(wall([*ours, *a], env))
    print(
        f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"`cnnscope {args.command} SPEC -f json`, {args.rounds} alternating rounds"
        f"{', varied channels' if args.varied else ''}; load average {load:.1f} at the start; "
        f"this Python adds 10 million integers in {speed:.2f} s (the machine's pace, to compare runs)"
    )
    print(f"{'graph':8} {'layers':>8} {'median s':>9} {'min s':>7} {'µs/layer':>9}", end="")
    print(f" {'peak RSS MiB':>13} {'KiB/layer':>10}")
    for (kind, n), ts in times.items():
        med = statistics.median(ts)
        print(
            f"{kind:8} {n:8,} {med:9.3f} {min(ts):7.3f} {med / n * 1e6:9.1f} {peak[kind, n]:13.1f} "
            f"{peak[kind, n] * 1024 / n:10.2f}"
        )


if __name__ == "__main__":
    main()
