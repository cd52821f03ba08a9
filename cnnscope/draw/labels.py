"""What each box says, and its colour: the figures of a box and their text.

A layer's box shows its name, type, output shape, parameters, MACs and receptive field; a
fold sums its copies (params, MACs, activations), shows the last copy's output shape and the
field from its first layer to its last. Numbers are formatted by :mod:`cnnscope.render.units`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnscope.draw.fold import Box
from cnnscope.draw.model import MEASURES, Item
from cnnscope.render.units import dims, nbytes, percent, rf_shown, shape, si

CHAR_W = 6.6  # px per character of the 11 px monospace font the SVG uses
LINE_H = 13.0
PAD = 6.0
MAX_CHARS = 44
# OrRd, light to dark: the share of the chosen cost, relative to the costliest box
PALETTE = ("#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000")


@dataclass
class Figures:
    """The figures one box of a drawing is labelled with."""

    params: float = 0.0
    macs: float = 0.0
    activations: float = 0.0
    output_shape: Any = None
    rf: Any = None  # display of the last layer's field
    rf_first: Any = None  # fold: display of the first layer's field


def rf_display(row: Mapping[str, Any]) -> Any:
    return rf_shown(row.get("rf"))


def figures(box: Box, items: Mapping[str, Item], input_shape: list[int]) -> Figures:
    if box.kind == "input":
        return Figures(output_shape=input_shape)
    rows = [items[m] for m in box.members]
    f = Figures()
    for it in rows:
        f.params += it.figure("params")
        f.macs += it.figure("macs")
        f.activations += it.figure(MEASURES["activations"])
    last = items[box.copies[-1][-1]] if box.copies else rows[-1]
    f.output_shape = last.row.get("output_shape")
    f.rf = rf_display(last.row)
    if box.kind == "fold":
        f.rf_first = rf_display(rows[0].row)
    return f


def measure(f: Figures, name: str) -> float:
    return {"macs": f.macs, "params": f.params, "activations": f.activations}[name]


def clip(s: str) -> str:
    return s if len(s) <= MAX_CHARS else s[: MAX_CHARS - 1] + "…"


def lines(box: Box, f: Figures, items: Mapping[str, Item]) -> list[str]:
    if box.kind == "input":
        return [box.title, shape(f.output_shape)]
    cost = f"{si(int(f.params))} params · {si(int(f.macs), 'MAC')}"
    if box.kind == "fold":
        first = items[box.members[0]]
        what = first.block or (box.inner.title.rsplit(".", 1)[-1] if box.inner else first.type)
        n = len(box.members) // max(box.count, 1)
        rf = dims(f.rf) if f.rf_first == f.rf else f"{dims(f.rf_first)} → {dims(f.rf)}"
        return [
            clip(f"{box.title} ×{box.count}"),
            clip(f"{what}: {n} layer{'s' if n != 1 else ''} each"),
            clip(f"out {shape(f.output_shape)}"),
            clip(cost),
            clip(f"RF {rf}"),
        ]
    it = items[box.members[0]]
    return [clip(box.title), clip(f"{it.type} {shape(f.output_shape)}"), clip(cost), clip(f"RF {dims(f.rf)}")]


def size(text: list[str]) -> tuple[float, float]:
    w = max(len(t) for t in text) * CHAR_W + 2 * PAD
    return max(w, 90.0), len(text) * LINE_H + 2 * PAD - 2


def colour(share: float) -> str:
    """The palette colour of a share of the costliest box's (0 … 1)."""
    k = min(len(PALETTE) - 1, max(0, int(share * (len(PALETTE) - 1) + 0.5)))
    return PALETTE[k]


def dark(fill: str) -> bool:
    return PALETTE.index(fill) >= 5 if fill in PALETTE else False


def tooltip(box: Box, f: Figures, items: Mapping[str, Item], total: Mapping[str, float]) -> str:
    """The full figures of a box, one per line (the hover text)."""
    out = [box.title + (f" ×{box.count}" if box.kind == "fold" else "")]
    if box.kind == "layer":
        it = items[box.members[0]]
        out.append(f"type {it.type}; from {', '.join(it.inputs)}")
        if it.status:
            out.append(f"diff: {it.status}" + (f" ({'; '.join(it.changes)})" if it.changes else ""))
    out.append(f"output {shape(f.output_shape)}")
    if box.kind != "input":
        for name, key, v in (("params", "params", f.params), ("MACs", "macs", f.macs)):
            out.append(f"{name} {int(v):,} ({percent(v / total[key] if total.get(key) else 0.0)})")
        act = f.activations / total["activations"] if total.get("activations") else 0.0
        out.append(f"activations {nbytes(int(f.activations))} ({percent(act)})")
        out.append(f"receptive field {dims(f.rf)}")
    return "\n".join(out)
