"""Drawing big graphs: whole-process time of `cnnscope draw SRC -o page.html`, the page's
size, how many boxes folding leaves, and (with Chromium) how long the page takes to open.

    python bench/draw.py [--repeat 3] [--tv-python /path/to/venv-with-torchvision/bin/python]

Graphs: ResNet-152 (built-in spec, folded and --no-fold), DenseNet-201 (torchvision's module;
needs a Python with torchvision, --tv-python), a 10,000-layer spec written with `repeat:`
(folds to one box) and bench/scale.py's 10,000-layer chain, whose layers have generated
names and so fold nothing: the worst case, every layer laid out by dot.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from scale import branchy, chain  # noqa: E402

REPEAT_10K = """input: [8, 32, 32]
blocks:
  unit:
    layers:
      - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
      - {name: relu, type: relu}
layers:
  - {name: body, block: unit, repeat: 5000}
"""


def draw(python: str, src: str, out: Path, extra: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(
        [python, "-m", "cnnscope", "draw", src, "-o", str(out), *extra], check=True, capture_output=True, text=True
    )
    return time.perf_counter() - t


def open_time(page: Path) -> float | None:
    try:
        from browser import Browser, chromium
    except ImportError:
        return None
    exe = chromium()
    if exe is None:
        return None
    with Browser(exe, timeout=300) as b:
        t = time.perf_counter()
        b.open(page)
        assert b.eval("document.documentElement.getAttribute('data-ready')") == "1"
        dt = time.perf_counter() - t
        assert b.errors() == [], b.errors()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tv-python", default=None, help="a Python whose environment has torchvision (DenseNet-201)")
    ap.add_argument("--branchy", action="store_true", help="also scale.py's 10,000-layer branchy graph (slow)")
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "repeat10k.yaml").write_text(REPEAT_10K)
        (tmp / "chain10k.yaml").write_text(chain(10000))
        (tmp / "branchy10k.yaml").write_text(branchy(10000))
        cases = [
            ("resnet152", py, "resnet152", []),
            ("resnet152 --no-fold", py, "resnet152", ["--no-fold"]),
        ]
        if args.tv_python:
            cases.append(("torchvision:densenet201", args.tv_python, "torchvision:densenet201", []))
        cases += [
            ("10k layers, repeat:", py, str(tmp / "repeat10k.yaml"), []),
            ("10k layers, chain", py, str(tmp / "chain10k.yaml"), []),
        ]
        if args.branchy:
            cases.append(("10k layers, branchy", py, str(tmp / "branchy10k.yaml"), []))
        print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; median of {args.repeat}")
        print(f"{'graph':26} {'layers':>7} {'boxes':>6} {'draw s':>8} {'HTML MiB':>9} {'open s':>7}")
        for title, python, src, extra in cases:
            page = tmp / "page.html"
            times = [draw(python, src, page, extra) for _ in range(args.repeat)]
            html = page.read_text(encoding="utf-8")
            m = re.search(r"([\d,]+) layers in ([\d,]+) boxes", html)
            layers, boxes = (m.group(1), m.group(2)) if m else ("?", "?")
            opened = open_time(page)
            print(
                f"{title:26} {layers:>7} {boxes:>6} {statistics.median(times):8.2f} "
                f"{len(html.encode()) / 2**20:9.2f} {'–' if opened is None else f'{opened:7.2f}':>7}",
                flush=True,
            )


if __name__ == "__main__":
    main()
