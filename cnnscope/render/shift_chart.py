"""Equivariance error against depth: as lines for a terminal and as a PNG (matplotlib).

The terminal chart has one line per layer: a bar for the error at the smallest measured
shift off the layer's lattice (aliasing), on a log scale from 1e-7 (float32 round-off) to 1,
and beside it the error at the lattice shift. The PNG draws one line per measured shift.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import log10
from pathlib import Path
from typing import Any

BAR_WIDTH = 40
FLOOR = 1e-7  # float32 round-off: errors below read as exact


def _level(err: float, width: int) -> int:
    if err <= FLOOR:
        return 0
    return max(1, min(width, round((log10(err) - log10(FLOOR)) / -log10(FLOOR) * width)))


def sci(x: float | None) -> str:
    return "–" if x is None else f"{x:.1e}"


def error_chart(rows: Sequence[dict[str, Any]], width: int = BAR_WIDTH) -> list[tuple[str, str]]:
    """``rows``: name, ``off`` (error off the lattice, or None), ``on`` (at the lattice), ``off_shift``,
    ``lattice``; the chart's lines, each with its terminal style (the bar's colour)."""
    lines = [(f"equivariance error against depth (log scale, {FLOOR:.0e} … 1; bar: off the lattice)", "bold")]
    if not rows:
        return lines
    name_w = min(28, max(len(r["name"]) for r in rows))
    for r in rows:
        name = r["name"] if len(r["name"]) <= name_w else "…" + r["name"][-(name_w - 1) :]
        line, style = f"{name:<{name_w}} ", ""
        off = r.get("off")
        if off is None:
            line += " " * width + "  –"
        else:
            n = _level(off, width)
            style = "red" if off > 1e-2 else "yellow" if off > 1e-4 else "green"
            line += "█" * n + " " * (width - n) + f"  s={r.get('off_shift')}: {sci(off)}"
        on = r.get("on")
        if on is not None:
            line += f"   s={r.get('lattice')}: {sci(on)}"
        lines.append((line, style))
    return lines


def save_plot(path: Path, names: Sequence[str], curves: dict[int, list[float | None]], title: str) -> None:
    """One line per shift: the error of every layer, in graph order (log scale)."""
    from cnnscope.render.rf_chart import require_matplotlib

    plt = require_matplotlib()
    fig, ax = plt.subplots(figsize=(max(6.0, min(18.0, 0.18 * len(names) + 4)), 4.5))
    xs = list(range(len(names)))
    for s, ys in sorted(curves.items()):
        pts = [(x, max(y, FLOOR)) for x, y in zip(xs, ys, strict=True) if y is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=f"shift {s}")
    ax.set_yscale("log")
    ax.set_xlabel("layer (graph order)")
    ax.set_ylabel("relative equivariance error")
    ax.set_title(title)
    step = max(1, len(names) // 30)
    ax.set_xticks(xs[::step])
    ax.set_xticklabels(names[::step], rotation=90, fontsize=6)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def chart_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chart's view of the report rows: the error off the lattice (or, for a layer whose
    lattice is 1, at shift 1) and at the lattice shift."""
    out = []
    for r in rows:
        m = r.get("shift_measured")
        if m is None:
            continue
        off, off_s = m.get("off"), m.get("off_shift")
        if off is None and m.get("lattice") is not None:
            off, off_s = m.get("on"), m.get("lattice")
        out.append({"name": r["name"], "off": off, "off_shift": off_s, "on": m.get("on"), "lattice": m.get("lattice")})
    return out


def empirical_notes(meta: dict[str, Any], rows: Sequence[dict[str, Any]]) -> list[str]:
    """The measurement's conditions and the classifier's consistency, in sentences."""
    along = "×".join(meta["along"])
    lines = [
        f"measured: shifts {', '.join(map(str, meta['shifts']))} along {along} (the same in each), "
        f"{meta['seeds']} seed(s) × {meta['inputs_per_seed']} {meta['input_distribution']} inputs, "
        f"{meta['initialization']}, on {meta['device']}; "
        "error = ‖f(Tₛx) − Tₛ′f(x)‖ / ‖Tₛ′f(x)‖, mean over inputs (± std)",
        "region `interior`: output positions whose receptive field lies inside the input and clear of the "
        "shifted-in border in both passes (aliasing alone; the circular and zero-filled shifts agree there); "
        "`whole map`: every position, circular shift (global outputs: the output itself)",
        "`torus`: circular shift, whole map, at the lattice shift (zero only when every layer pads circularly "
        "and keeps its size a multiple of the strides); "
        f"`zero-filled`: zero-filled shift, whole map, at the lattice shift; `vanishes at`: the smallest "
        f"measured shift with error ≤ {meta['tolerance']:g} in the row's region",
    ]
    c = meta.get("consistency")
    if c:
        for fill in meta["fills"]:
            st = c[fill]
            lines.append(
                f"consistency at `{c['layer']}` ({'zero-filled' if fill == 'zeros' else fill} shifts in "
                f"[0, {c['shift_range'][1]}]): "
                f"{100 * st['consistency']['mean']:.1f}% ± {100 * st['consistency']['std']:.1f}% of inputs keep "
                f"their argmax; mean change of the output distribution (total variation) "
                f"{st['mean_tv_distance']['mean']:.2e} ± {st['mean_tv_distance']['std']:.1e}"
                + (
                    " (every input has the same argmax at this initialization: the consistency says little, "
                    "the change of the distribution more)"
                    if st.get("distinct_argmax") == 1
                    else f" ({st.get('distinct_argmax')} distinct classes among the inputs)"
                )
            )
    lines.extend(meta.get("notes", []))
    return lines
