"""A drawing, ready to emit: folded boxes, their figures and text, and dot's positions.

:func:`scene` folds a :class:`~cnnscope.draw.model.Picture`, lays it out, and does the same
for the first copy of every fold (what the HTML page shows when a fold is clicked), the
layouts in parallel: each is one ``dot`` process.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cnnscope.draw import labels
from cnnscope.draw.fold import Box, Level, edges, fold
from cnnscope.draw.layout import MAX_CLUSTER_DEPTH, Layout, layout
from cnnscope.draw.model import Item, Picture
from cnnscope.graph import INPUT
from cnnscope.render.units import shape


@dataclass
class Drawing:
    """One laid-out graph: the whole model, or the expanded copy of a fold."""

    key: str  # "main", or the id of the fold it expands
    level: Level
    boxes: dict[str, Box]  # id -> box, the outside sources ("in:NAME") included
    figs: dict[str, labels.Figures]
    text: dict[str, list[str]]
    edges: list[tuple[str, str]]
    layout: Layout | None = None
    folds: list[str] = field(default_factory=list)  # ids of the folds drawn here


@dataclass
class Scene:
    """A picture laid out: the main drawing, each folded block's panel, the totals shares are of."""

    picture: Picture
    main: Drawing
    panels: dict[str, Drawing]  # fold id -> its expanded copy
    totals: dict[str, float]  # sum of each measure over all layers (the shares' denominator)
    measure: str
    items: dict[str, Item]

    def all_boxes(self) -> dict[str, Box]:
        out = dict(self.main.boxes)
        for d in self.panels.values():
            out.update(d.boxes)
        return out


def _drawing(key: str, level: Level, pic: Picture, items: dict[str, Item]) -> Drawing:
    es = edges(level, items, "in")
    boxes = {b.id: b for b in level.boxes()}
    for s, _ in es:
        if s not in boxes:
            name = s.split(":", 1)[1]
            boxes[s] = Box(s, "input", "input" if name == INPUT else name, [])
    figs: dict[str, labels.Figures] = {}
    text: dict[str, list[str]] = {}
    for b in boxes.values():
        if b.kind == "input" and b.title != "input":
            src = items[b.title]
            f = labels.figures(Box(b.id, "layer", b.title, [b.title]), items, pic.input_shape)
            figs[b.id] = f
            text[b.id] = [f"from {labels.clip(src.name)}", shape(f.output_shape)]
            continue
        figs[b.id] = labels.figures(b, items, pic.input_shape)
        text[b.id] = labels.lines(b, figs[b.id], items)
    for bid, parent in _parents(level, level.title, 0).items():
        b = boxes[bid]
        if parent and b.title.startswith(parent + "."):  # inside a frame titled `layer2.0`, `conv1` says enough
            text[bid][0] = text[bid][0].replace(b.title, b.title[len(parent) + 1 :], 1)
    folds = [b.id for b in boxes.values() if b.kind == "fold"]
    return Drawing(key, level, boxes, figs, text, es, folds=folds)


def _parents(level: Level, title: str, depth: int) -> dict[str, str]:
    """Box id -> the title of the frame drawn around it (clusters deeper than dot's are not drawn)."""
    out: dict[str, str] = {}
    for c in level.children:
        if isinstance(c, Level):
            drawn = depth < MAX_CLUSTER_DEPTH
            out.update(_parents(c, c.title if drawn else title, depth + 1 if drawn else depth))
        else:
            out[c.id] = title
    return out


def scene(pic: Picture, measure: str = "macs", fold_blocks: bool = True, with_layout: bool = True) -> Scene:
    items = {it.name: it for it in pic.items}
    main = _drawing("main", fold(pic.items, fold_blocks), pic, items)
    panels: dict[str, Drawing] = {}
    todo = [main]
    while todo:
        d = todo.pop()
        for fid in d.folds:
            inner = d.boxes[fid].inner
            assert inner is not None
            panels[fid] = _drawing(fid, inner, pic, items)
            todo.append(panels[fid])
    drawings = [main, *panels.values()]
    if with_layout:

        def run(d: Drawing) -> Layout:
            sizes = {k: labels.size(t) for k, t in d.text.items()}
            return layout(d.level, sizes, d.edges)

        workers = max(1, min(len(drawings), os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            for d, lay in zip(drawings, pool.map(run, drawings)):
                d.layout = lay
    totals = {
        "macs": sum(it.figure("macs") for it in pic.items),
        "params": sum(it.figure("params") for it in pic.items),
        "activations": sum(it.figure("activation_bytes") for it in pic.items),
    }
    return Scene(pic, main, panels, totals, measure, items)
