"""The page's charts, as inline SVG, from the analyzers' own figures (the report's rows).

- receptive-field growth: the field's size (largest spatial dim) after every layer, against
  the input's size;
- the feature-map pyramid: one row per spatial size the maps take, in order, with its
  channels (the most any layer at that size has) and how many layers work at it;
- MACs and parameters per layer, in graph order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from math import prod

from cnnscope.draw.model import Item
from cnnscope.render.units import dims, si

W, H, L, B = 760.0, 200.0, 74.0, 28.0  # chart width, height, left and bottom margins


def _frame(title: str, body: list[str], h: float = H, cls: str = "") -> str:
    return (
        f'<figure class="cs-chart {cls}"><figcaption>{escape(title)}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W:.0f}" height="{h:.0f}" viewBox="0 0 {W:.0f} {h:.0f}" '
        f'font-size="10" font-family="sans-serif">' + "".join(body) + "</svg></figure>"
    )


def nice_top(vmax: float) -> float:
    """Four times the smallest round step (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k) whose four steps reach ``vmax``."""
    if vmax <= 0:
        return 1.0
    k = 10.0 ** math.floor(math.log10(vmax / 4))
    return next(m * k * 4 for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * k * 4 >= vmax)


def _axis(ymax: float, unit: str, h: float = H) -> list[str]:
    out = [f'<line x1="{L}" y1="{h - B}" x2="{W - 8}" y2="{h - B}" stroke="#8c959f"/>']
    for k in range(5):
        v = ymax * k / 4
        y = h - B - (h - B - 12) * k / 4
        text = si(int(v), unit, 1) if float(v).is_integer() else si(v, unit, 1)
        out.append(f'<line x1="{L - 3}" y1="{y:.1f}" x2="{W - 8}" y2="{y:.1f}" stroke="#eaeef2"/>')
        out.append(f'<text x="{L - 6}" y="{y + 3:.1f}" text-anchor="end" fill="#57606a">{escape(text)}</text>')
    return out


def _x(i: int, n: int) -> float:
    return L + (W - 8 - L) * (i + 0.5) / max(n, 1)


def _y(v: float, vmax: float, h: float = H) -> float:
    return h - B - (h - B - 12) * (v / vmax if vmax else 0.0)


def rf_growth(items: Sequence[Item], input_shape: Sequence[int]) -> str:
    """Field size per layer; a layer that sees the whole input (after a global op) sits on the top line."""
    spatial = list(input_shape[2:])
    n = len(items)
    size = float(max(spatial, default=1))
    pts: list[tuple[float, float | None, str]] = []  # None: the whole input
    for i, it in enumerate(items):
        rf = it.row.get("rf")
        if not isinstance(rf, dict):
            continue
        if rf.get("whole_input"):
            pts.append((_x(i, n), None, f"{it.name}: whole input"))
        elif rf.get("size"):
            pts.append((_x(i, n), float(max(rf["size"])), f"{it.name}: {dims(rf['size'])}"))
    vmax = nice_top(max([size, *(v for _, v, _ in pts if v is not None)]) * 1.05)
    body = _axis(vmax, "")
    yi = _y(size, vmax)
    body.append(f'<line x1="{L}" y1="{yi:.1f}" x2="{W - 8}" y2="{yi:.1f}" stroke="#cf222e" stroke-dasharray="4 3"/>')
    body.append(f'<text x="{W - 10}" y="{yi - 4:.1f}" text-anchor="end" fill="#cf222e">input {dims(spatial)}</text>')
    finite = [(x, v) for x, v, _ in pts if v is not None]
    if finite:
        d = "M" + " L".join(f"{x:.1f},{_y(v, vmax):.1f}" for x, v in finite)
        body.append(f'<path class="cs-rf-line" d="{d}" fill="none" stroke="#0969da" stroke-width="1.6"/>')
    step = max(1, len(pts) // 300)
    for x, v, tip in pts[::step]:
        y = _y(vmax if v is None else v, vmax)
        fill = "#ffffff" if v is None else "#0969da"
        body.append(
            f'<circle class="cs-rf-point" cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{fill}" stroke="#0969da" '
            f'data-rf="{"whole" if v is None else f"{v:g}"}"><title>{escape(tip)}</title></circle>'
        )
    body.append(
        f'<text x="{L}" y="{H - 8}" fill="#57606a">layers in graph order ({n}); hollow on the top line: '
        "the whole input</text>"
    )
    return _frame("Receptive field (px, largest dim) after each layer", body, cls="cs-rf")


def pyramid_rows(items: Sequence[Item]) -> list[tuple[tuple[int, ...], int, int]]:
    """(spatial size, channels, layers) per spatial size the maps take, in order of first use."""
    rows: dict[tuple[int, ...], list[int]] = {}
    for it in items:
        s = it.row.get("output_shape")
        if not isinstance(s, list) or len(s) < 3:
            continue
        key = tuple(int(d) for d in s[2:])
        r = rows.setdefault(key, [0, 0])
        r[0] = max(r[0], int(s[1]))
        r[1] += 1
    return [(k, c, n) for k, (c, n) in rows.items()]


def pyramid(items: Sequence[Item]) -> str:
    rows = pyramid_rows(items)
    if not rows:
        return ""
    rh = 18.0
    h = 30 + rh * len(rows)
    smax = max(prod(k) for k, _, _ in rows) or 1
    cmax = max(c for _, c, _ in rows) or 1
    half = (W - 190) / 2
    mid = 120 + half
    body = [
        f'<text x="{mid - 6:.0f}" y="12" text-anchor="end" fill="#57606a">positions (H·W…)</text>',
        f'<text x="{mid + 6:.0f}" y="12" fill="#57606a">channels</text>',
    ]
    for i, (k, c, n) in enumerate(rows):
        y = 20 + i * rh
        ws = half * (prod(k) / smax) ** 0.5  # area-true: the bar's width is the map's side
        wc = half * c / cmax
        body.append(
            f'<g class="cs-stage" data-spatial="{"x".join(map(str, k))}" data-channels="{c}" data-layers="{n}">'
            f'<text x="4" y="{y + 12:.1f}">{escape(dims(list(k)))} · {n} layer{"s" if n != 1 else ""}</text>'
            f'<rect x="{mid - 2 - ws:.1f}" y="{y:.1f}" width="{ws:.1f}" height="{rh - 4}" fill="#54aeff"/>'
            f'<rect x="{mid + 2:.1f}" y="{y:.1f}" width="{wc:.1f}" height="{rh - 4}" fill="#fb8f44"/>'
            f'<text x="{mid + 6 + wc:.1f}" y="{y + 12:.1f}" fill="#57606a">{c:,}</text></g>'
        )
    return _frame("Feature-map pyramid: spatial size and channels per stage", body, h, cls="cs-pyramid")


def per_layer(items: Sequence[Item], key: str, title: str, unit: str, colour: str) -> str:
    n = len(items)
    vals = [it.figure(key) for it in items]
    vmax = nice_top(max(vals, default=0.0))
    body = _axis(vmax, unit)
    bw = min(max((W - 8 - L) / max(n, 1) - 1, 0.6), 24.0)
    if n <= 600:
        for i, (it, v) in enumerate(zip(items, vals)):
            if v <= 0:
                continue
            y = _y(v, vmax)
            body.append(
                f'<rect class="cs-bar" x="{_x(i, n) - bw / 2:.1f}" y="{y:.1f}" width="{bw:.1f}" '
                f'height="{H - B - y:.1f}" fill="{colour}" data-layer="{escape(it.name, quote=True)}" '
                f'data-value="{int(v)}"><title>{escape(it.name)}: {escape(si(int(v), unit))}</title></rect>'
            )
    else:  # too many layers for a bar each: one outline
        d = f"M{L},{H - B} " + " ".join(f"L{_x(i, n):.1f},{_y(v, vmax):.1f}" for i, v in enumerate(vals))
        body.append(f'<path d="{d} L{W - 8},{H - B} Z" fill="{colour}" stroke="none"/>')
    body.append(f'<text x="{L}" y="{H - 8}" fill="#57606a">layers in graph order ({n})</text>')
    return _frame(title, body)


def charts(items: Sequence[Item], input_shape: Sequence[int]) -> str:
    return "\n".join(
        [
            rf_growth(items, input_shape),
            pyramid(items),
            per_layer(items, "macs", "MACs per layer", "MAC", "#fc8d59"),
            per_layer(items, "params", "Parameters per layer", "", "#8250df"),
        ]
    )
