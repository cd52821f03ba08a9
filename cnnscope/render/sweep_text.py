"""Sweep output beyond the table: the formula block and a terminal chart (text; render/ only)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from cnnscope.render.units import fmt

SHOWN = (
    ("macs", "MACs"),
    ("flops", "FLOPs"),
    ("params", "params"),
    ("activation_bytes", "activation bytes"),
    ("training_bytes", "training bytes"),
)
BAR = 40
MAX_LISTED = 12


def step_rule(points: Sequence[int]) -> str:
    """``every 2 from 97`` for evenly spaced steps, else the list (truncated)."""
    if not points:
        return "no step in the range"
    if len(points) > 2:
        gaps = {b - a for a, b in pairwise(points)}
        if len(gaps) == 1:
            return f"steps at {points[0]}, {points[1]}, … {points[-1]} (every {gaps.pop()})"
    shown = ", ".join(str(p) for p in points[:MAX_LISTED])
    return f"steps at {shown}" + (f" … ({len(points) - MAX_LISTED} more)" if len(points) > MAX_LISTED else "")


def formula_lines(meta: dict[str, Any], rows: Sequence[dict[str, Any]]) -> list[str]:
    f = meta.get("formulas") or {}
    if not f.get("available"):
        return [f"no exact formula: {f.get('why', 'unknown')}"]
    var = ", ".join(f["variables"])
    lines = []
    for key, title in SHOWN:
        fig = f["figures"].get(key)
        if fig is None:
            continue
        lines.append(f"{title}({var}) = {fig['exact']}")
        if "polynomial" in fig and fig["polynomial"] != fig["exact"]:
            cls = ", ".join(
                f"{v} ≡ {r} (mod {p})" for v, r, p in zip(f["variables"], fig["residue"], fig["period"], strict=True)
            )
            lines.append(f"    = {fig['polynomial']}   for {cls}")
    if f["where"]:
        lines.append("where " + "; ".join(f["where"]))
    lo, hi = f["breakpoint_range"]
    for name, pts in f["breakpoints"].items():
        lines.append(f"  {name}: {step_rule(pts)} in {lo}..{hi}")
    valid = [r for r in rows if r.get("status") == "ok"]
    ok = sum(1 for r in valid if r.get("formula_matches"))
    lines.append(
        f"checked: the formula gives the analyzer's figures exactly at {ok} of {len(valid)} valid sizes "
        f"({f['guards']} guards, {f['pieces']} piece{'s' if f['pieces'] != 1 else ''})"
    )
    if f.get("partial"):
        lines.append(f"partial: {f['partial']}")
    return lines


def chart_lines(rows: Sequence[dict[str, Any]], key: str, unit: str, title: str) -> list[str]:
    vals = [r.get(key) for r in rows]
    top = max((v for v in vals if v is not None), default=0)
    if not top:
        return []
    width = max(len(r["name"]) for r in rows)
    out = [title]
    for r, v in zip(rows, vals, strict=True):
        if v is None:
            out.append(f"  {r['name']:>{width}}  (invalid)")
            continue
        n = round(BAR * v / top)
        out.append(f"  {r['name']:>{width}}  {'█' * n}{' ' * (BAR - n)}  {fmt(v, unit)}")
    return out


def save_plot(path: str, rows: Sequence[dict[str, Any]], model: str) -> None:
    """MACs and training memory against the input size (pixels), one PNG."""
    from cnnscope.render.rf_chart import require_matplotlib

    plt = require_matplotlib()
    valid = [r for r in rows if r.get("status") == "ok"]
    x = [_pixels(r["size"]) for r in valid]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(x, [r["macs"] / 1e9 for r in valid], marker="o")
    a.set_xlabel("input pixels (product of the spatial sizes)")
    a.set_ylabel("GMAC")
    a.set_title(f"{model}: MACs")
    b.plot(x, [r["training_bytes"] / 2**30 for r in valid], marker="o", label="training step")
    b.plot(x, [r["activation_bytes"] / 2**30 for r in valid], marker="o", label="activations")
    b.set_xlabel("input pixels")
    b.set_ylabel("GiB")
    b.set_title(f"{model}: memory")
    b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pixels(size: Sequence[int]) -> int:
    n = 1
    for s in size:
        n *= s
    return n
