"""Receptive-field growth and effective-RF maps: as lines for a terminal and as a PNG.

The terminal charts are plain lines, each with its style (the document's terminal lines);
the PNG needs matplotlib, the optional `plot` extra, imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnscope.errors import UsageError
from cnnscope.render.units import RF_WORDS, percent

BAR_WIDTH = 48
SHADES = " .:-=+*#%@"


def growth_entries(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows where the field grows (or becomes whole / unknown): what the chart shows.

    Along one path a receptive field never shrinks; a row whose field is smaller than one
    already shown is a side branch (a ResNet ``downsample``), not a step of the growth, and
    is left out, so the curve does not dip through every shortcut."""
    out: list[dict[str, Any]] = []
    prev: tuple[Any, ...] | None = None
    top: list[int] | None = None
    for row in rows:
        rf = row.get("rf")
        if rf is None:
            continue
        size = list(rf["size"] or ())
        smaller = (
            rf["status"] == "ok"
            and top is not None
            and len(size) == len(top) > 0
            and size != top
            and all(a <= b for a, b in zip(size, top, strict=True))
        )
        if smaller:
            continue  # smaller than a field already shown: a side branch
        key = (rf["status"], tuple(size), tuple(rf["stride"] or ()))
        if key != prev:
            out.append(row)
            prev = key
        if rf["status"] == "ok" and size:
            top = size if top is None or len(top) != len(size) else [max(a, b) for a, b in zip(size, top, strict=True)]
    return out


def shorten_middle(name: str, width: int) -> str:
    """``layer4.1.downsample.0`` -> ``layer4…ownsample.0``: both ends of a name stay readable."""
    if len(name) <= width:
        return name
    if width < 3:
        return name[:width]
    head = (width - 1) // 2
    return name[:head] + "…" + name[-(width - 1 - head) :]


Lines = list[tuple[str, str]]  # (text, terminal style): one chart line each


def growth_chart(
    rows: Sequence[dict[str, Any]],
    input_spatial: Sequence[int],
    width: int = BAR_WIDTH,
    columns: int | None = None,
) -> Lines:
    """One bar per layer where the field grows; `┃` marks the input's size. ``columns``: the
    terminal's width, which the bars shrink to fit (a line never wraps)."""
    entries = growth_entries(rows)
    sizes = [max(e["rf"]["size"]) for e in entries if e["rf"]["size"]]
    full = max(input_spatial) if input_spatial else 1
    top = max([full, *sizes]) or 1
    name_w = min(28, max([len(e["name"]) for e in entries] + [5]))
    if columns is not None:
        tails = [_tail(e["rf"]) for e in entries] or [""]
        tail_w = max(len(t) for t in tails)
        name_w = min(name_w, max(12, columns // 4))
        width = max(8, min(width, columns - name_w - tail_w - 3))
    mark = round(full / top * width)
    lines: Lines = [(f"receptive-field growth (largest dim; ┃ = input {'×'.join(map(str, input_spatial))})", "bold")]
    for e in entries:
        rf = e["rf"]
        name = f"{shorten_middle(e['name'], name_w):<{name_w}} "
        if rf["status"] == "ok":
            n = max(1, round(max(rf["size"]) / top * width))
            bar = "".join("█" if i < n else " " for i in range(width + 1))
            if mark <= width:
                bar = bar[:mark] + ("┃" if mark >= n else "╋") + bar[mark + 1 :]
            shown = bar[: max(n, mark + 1)] + " " * (width + 1 - max(n, mark + 1))
            lines.append((name + shown + _tail(rf), "cyan" if max(rf["size"]) < full else "green"))
        elif rf["status"] == "whole_input":
            lines.append((name + "█" * (mark + 1) + " " * (width - mark) + " " + RF_WORDS["whole_input"], "green"))
        else:
            lines.append((name + " " * (width + 1) + " " + RF_WORDS["unsupported"], "yellow"))
    return lines


def _tail(rf: dict[str, Any]) -> str:
    if rf["status"] == "ok":
        stride = f"  (stride {'×'.join(map(str, rf['stride']))})" if rf["stride"] else ""
        return " " + "×".join(map(str, rf["size"])) + stride
    return " " + RF_WORDS["whole_input" if rf["status"] == "whole_input" else "unsupported"]


def erf_heatmap(grid: Sequence[Sequence[float]], max_cols: int = 64, max_rows: int = 32) -> Lines:
    """The effective-RF map, block-averaged to fit the terminal (a cell is about twice as tall as
    wide), cropped to the rows and columns where some gradient shows (no blank rows)."""
    rows = len(grid)
    cols = len(grid[0]) if rows else 0
    if not rows or not cols:
        return []
    cstep = max(1, -(-cols // max_cols))
    rstep = max(1, -(-rows // max_rows), cstep * 2 if rows > 1 else 1)
    cells: list[list[float]] = []
    for r0 in range(0, rows, rstep):
        line = []
        for c0 in range(0, cols, cstep):
            block = [grid[r][c] for r in range(r0, min(rows, r0 + rstep)) for c in range(c0, min(cols, c0 + cstep))]
            line.append(sum(block) / len(block))
        cells.append(line)
    peak = max(max(line) for line in cells) or 1.0
    shade = [[min(len(SHADES) - 1, int(v / peak * (len(SHADES) - 1) + 0.5)) for v in line] for line in cells]
    live_rows = [i for i, line in enumerate(shade) if any(line)]
    live_cols = [j for j in range(len(shade[0])) if any(line[j] for line in shade)]
    if not live_rows:
        return [("(no gradient above the lowest shade)", "")]
    r_lo, r_hi, c_lo, c_hi = live_rows[0], live_rows[-1], live_cols[0], live_cols[-1]
    lines: Lines = [
        ("".join(SHADES[k] for k in ks[c_lo : c_hi + 1]).rstrip() or ".", "") for ks in shade[r_lo : r_hi + 1]
    ]
    if (r_lo, r_hi, c_lo, c_hi) != (0, len(shade) - 1, 0, len(shade[0]) - 1):
        y0, y1 = r_lo * rstep, min(rows, (r_hi + 1) * rstep) - 1
        x0, x1 = c_lo * cstep, min(cols, (c_hi + 1) * cstep) - 1
        lines.append(
            (f"(input rows {y0}–{y1}, columns {x0}–{x1} of {rows}×{cols}; the rest is below the lowest shade)", "dim")
        )
    return lines


def require_matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(
            "missing-extra",
            "--plot needs matplotlib, which is not installed",
            hint="install the optional extra: pip install 'cnnscope[plot]'",
        ) from None
    return plt


def save_plot(
    path: Path,
    rows: Sequence[dict[str, Any]],
    input_spatial: Sequence[int],
    dims: Sequence[str],
    title: str,
    erf: dict[str, Any] | None = None,
    erf_grid: Sequence[Sequence[float]] | None = None,
) -> None:
    """Growth of the field per dim against the layers (and the effective-RF map, if given)."""
    plt = require_matplotlib()
    ncols = 2 if erf_grid is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(7 * ncols, 4.5), squeeze=False)
    ax = axes[0][0]
    entries = growth_entries(rows)
    xs = list(range(len(entries)))
    for d, name in enumerate(dims):
        ys = [e["rf"]["size"][d] if e["rf"]["size"] else float("nan") for e in entries]
        ax.plot(xs, ys, marker="o", ms=3, label=f"RF size ({name})")
        if d < len(input_spatial):
            ax.axhline(input_spatial[d], ls="--", lw=0.8, color=f"C{d}", alpha=0.6)
    whole = [i for i, e in enumerate(entries) if e["rf"]["status"] == "whole_input"]
    if whole:
        ax.axvspan(whole[0] - 0.5, xs[-1] + 0.5, color="green", alpha=0.1, label="whole input")
    ax.set_xticks(xs)
    ax.set_xticklabels([e["name"] for e in entries], rotation=90, fontsize=6)
    ax.set_ylabel("input pixels")
    ax.set_title(f"{title}: receptive-field growth (dashed: input size)")
    ax.legend(fontsize=7)
    if erf_grid is not None and erf is not None:
        ax2 = axes[0][1]
        im = ax2.imshow(erf_grid, cmap="magma", aspect="auto" if len(erf_grid) == 1 else "equal")
        fig.colorbar(im, ax=ax2, fraction=0.046)
        ax2.set_title(f"effective RF of `{erf['layer']}` (95% radius {erf['radius']:.1f} px)", fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise UsageError("bad-option", f"cannot write `{path}`: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


def erf_summary(j: dict[str, Any]) -> list[str]:
    """The effective-receptive-field figures of ``ErfResult.to_json()`` as sentences."""
    size = "×".join(map(str, j["theoretical_size"]))
    half = ", ".join(f"{(r - 1) / 2:g}" for r in j["theoretical_size"])
    return [
        f"effective receptive field of `{j['layer']}` at unit {tuple(j['unit'])}, "
        f"{j['draws']} random initializations (Luo et al., 2016)",
        f"  {percent(j['mass'])} of the gradient lies within {j['radius']:.1f} px of the centre; "
        f"theoretical field {size} (half-size {half}); "
        f"{percent(j['inside_theoretical_fraction'])} of the gradient inside it",
    ]


def erf_markdown(j: dict[str, Any]) -> str:
    return (
        f"**Effective receptive field** of `{j['layer']}`: {percent(j['mass'])} of the gradient within "
        f"{j['radius']:.1f} px of the centre (theoretical size {'×'.join(map(str, j['theoretical_size']))}, "
        f"{j['draws']} draws).\n"
    )
