"""Whole-process start-up: cnnscope's commands against the interpreter's floor, alternating.

    python bench/startup.py [--rounds 21] [--model resnet50] [--peers] [--torch-rounds 11]

Each round runs every contender once as a fresh process, in turn, so that a busy neighbour
slows all alike; the table gives the median and the minimum wall time over rounds, the median
CPU time (user + system, which waiting for a core does not inflate), and the ratio of the
median to ``python -c "import yaml"``, the bound of issue #19 (at most 2x for every analytic
command, --help and --version). Two rows run with ``CNNSCOPE_NO_CACHE=1``: the cost when the
cache (cnnscope.perf) is cold or off, the layer-family index derived and the help typed out by
typer. ``--peers`` adds torchinfo, fvcore and FlopCounterMode on the same architecture as a
torch module (bench/models.py), each where installed. ``--torch-rounds N`` times, in N fresh
processes that imported torch first, ``import cnnscope`` (issue #19: at most 20 ms) and the
first use of the API (``cnnscope.summary``).

Children keep their bytecode as an installed package does (with PYTHONDONTWRITEBYTECODE set
in this environment, they cache it under a temporary PYTHONPYCACHEPREFIX instead), and one
untimed run of each warms the caches first.
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

HERE = Path(__file__).resolve().parent

PEERS = {
    "torchinfo summary (module)": (
        "torchinfo",
        "import torch, torchinfo; from models import resnet50; "
        "torchinfo.summary(resnet50(), (1, 3, 224, 224), verbose=0)",
    ),
    "fvcore FlopCountAnalysis (module)": (
        "fvcore",
        "import torch; from fvcore.nn import FlopCountAnalysis; from models import resnet50; "
        "f = FlopCountAnalysis(resnet50(), torch.zeros(1, 3, 224, 224)); "
        "f.unsupported_ops_warnings(False); f.uncalled_modules_warnings(False); f.total()",
    ),
    "torch FlopCounterMode (module)": (
        "torch",
        "import torch; from torch.utils.flop_counter import FlopCounterMode; from models import resnet50; "
        "m = resnet50()\nwith FlopCounterMode(display=False) as c: m(torch.zeros(1, 3, 224, 224))\nc.get_total_flops()",
    ),
}


def commands(model: str) -> dict[str, list[str]]:
    """Every analytic command on a built-in spec, JSON and table, and --help / --version."""
    return {
        f"summary {model} -f json": ["summary", model, "-f", "json"],
        f"summary {model} (table)": ["summary", model],
        f"shapes {model} -f json": ["shapes", model, "-f", "json"],
        f"params {model} -f json": ["params", model, "-f", "json"],
        f"flops {model} -f json": ["flops", model, "-f", "json"],
        f"memory {model} -f json": ["memory", model, "-f", "json"],
        f"rf {model} -f json": ["rf", model, "-f", "json"],
        f"lint {model} -f json": ["lint", model, "-f", "json"],
        f"explain {model} -f json": ["explain", model, "-f", "json"],
        "--version": ["--version"],
        "--help": ["--help"],
    }


TORCH_CHILD = """
import time, torch
t0 = time.perf_counter()
import cnnscope
t1 = time.perf_counter()
cnnscope.summary
t2 = time.perf_counter()
print((t1 - t0) * 1e3, (t2 - t1) * 1e3)
"""


def torch_import(rounds: int, env: dict[str, str]) -> None:
    """``import cnnscope`` in a process that imported torch already."""
    imports, first = [], []
    for _ in range(rounds + 1):
        out = subprocess.run([sys.executable, "-c", TORCH_CHILD], capture_output=True, text=True, env=env, check=True)
        a, b = (float(v) for v in out.stdout.split())
        imports.append(a)
        first.append(b)
    imports, first = imports[1:], first[1:]  # the first warmed the caches
    print(f"after `import torch`, {rounds} fresh processes:")
    print(f"  import cnnscope:        median {statistics.median(imports):6.2f} ms, min {min(imports):6.2f} ms")
    print(
        f"  then cnnscope.summary:  median {statistics.median(first):6.2f} ms, min {min(first):6.2f} ms "
        "(the API's modules)"
    )


def available(mod: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(mod) is not None


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit status of one child."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=HERE, env=env)
    _pid, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, p.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--model", default="resnet50", help="the built-in spec the commands analyze")
    ap.add_argument("--peers", action="store_true", help="also torchinfo, fvcore, FlopCounterMode (seconds each)")
    ap.add_argument("--only", default="", help="comma-separated contender names to keep (substring match)")
    ap.add_argument("--torch-rounds", type=int, default=0, help="also time `import cnnscope` after torch")
    args = ap.parse_args()

    env = dict(os.environ)
    cache_note = "bytecode cached beside the sources"
    if env.pop("PYTHONDONTWRITEBYTECODE", None) and "PYTHONPYCACHEPREFIX" not in env:
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="cnnscope-bench-pyc-")
        cache_note = f"bytecode cached under {env['PYTHONPYCACHEPREFIX']}"
    script = Path(sys.executable).with_name("cnnscope")
    ours = [str(script)] if script.exists() else [sys.executable, "-m", "cnnscope"]
    tools: dict[str, list[str]] = {
        'python -c "pass"': [sys.executable, "-c", "pass"],
        'python -c "import yaml"': [sys.executable, "-c", "import yaml"],
    }
    tools.update({f"cnnscope {name}": [*ours, *argv] for name, argv in commands(args.model).items()})
    # the same without the cache (cnnscope.perf): the layer-family index derived, help typed by typer
    uncached = {f"cnnscope summary {args.model} -f json, no cache": [*ours, "summary", args.model, "-f", "json"]}
    uncached["cnnscope --help, no cache"] = [*ours, "--help"]
    tools.update(uncached)
    if args.peers:
        for name, (mod, code) in PEERS.items():
            if available(mod):
                tools[name] = [sys.executable, "-c", code]
            else:
                print(f"note: {name} skipped ({mod} is not installed)")
    if args.only:
        keep = [k.strip() for k in args.only.split(",") if k.strip()]
        tools = {k: v for k, v in tools.items() if k.startswith("python") or any(s in k for s in keep)}

    envs = {name: {**env, "CNNSCOPE_NO_CACHE": "1"} if name in uncached else env for name in tools}
    for name, cmd in tools.items():  # untimed: bytecode, file cache; and every command must succeed
        code = run(cmd, envs[name])[2]
        if code != 0:
            sys.exit(f"{name} exited {code}: {' '.join(cmd)}")
    load_before = os.getloadavg()
    walls: dict[str, list[float]] = {k: [] for k in tools}
    cpus: dict[str, list[float]] = {k: [] for k in tools}
    for _ in range(args.rounds):
        for name, cmd in tools.items():
            wall, cpu, _code = run(cmd, envs[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
    load_after = os.getloadavg()
    t = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    speed = time.perf_counter() - t

    floor = statistics.median(walls['python -c "import yaml"'])
    print(
        f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{args.rounds} alternating rounds, {cache_note}; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after; this Python adds 10 million integers in {speed:.2f} s (the machine's pace)"
    )
    print(f"{'contender':40} {'median s':>9} {'min s':>7} {'CPU s':>7} {'x import yaml':>14}")
    for name in tools:
        med = statistics.median(walls[name])
        verdict = ""
        if name.startswith("cnnscope") and "(table)" not in name and "no cache" not in name:
            verdict = "  within 2x" if med <= 2 * floor else "  OVER 2x"
        print(
            f"{name:40} {med:9.3f} {min(walls[name]):7.3f} {statistics.median(cpus[name]):7.3f} "
            f"{med / floor:14.2f}{verdict}"
        )
    if args.torch_rounds:
        torch_import(args.torch_rounds, env)


if __name__ == "__main__":
    main()
