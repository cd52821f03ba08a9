"""The union of two graphs, for ``cnnscope diff old new -o diff.html``.

Layers are matched by name, as ``diff`` matches them; each item carries its status (added,
removed, changed, unchanged) and what changed. A layer in both graphs takes the new graph's
figures and the inputs of both (so a rewired connection shows where it was and where it
goes); a removed layer keeps the old graph's. Folding still applies, but a run of copies
folds only when their statuses agree, so a changed layer is never hidden in a ×N box.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cnnscope.analyze.base import Report
from cnnscope.draw.model import Item, Picture, from_graph
from cnnscope.graph import Graph

if TYPE_CHECKING:
    from cnnscope.diff import ArchDiff

MAX_PICTURE_BOXES = 200  # GitHub's mermaid gives up on much larger charts


def union_picture(
    old: Graph,
    new: Graph,
    old_report: Report,
    new_report: Report,
    order: Sequence[str],
    status: Mapping[str, tuple[str, list[str]]],
    batch: int = 1,
    with_explain: bool = True,
) -> Picture:
    """``order``: every layer of either graph, removed ones where they stood; ``status``: name ->
    (status, changes), as :func:`cnnscope.cli.diff_cmd.diff_graphs` found them."""
    po = {it.name: it for it in from_graph(old, batch, old_report, with_explain).items}
    pn = {it.name: it for it in from_graph(new, batch, new_report, with_explain).items}
    items: list[Item] = []
    for name in order:
        a, b = po.get(name), pn.get(name)
        base = b or a
        assert base is not None
        st, changes = status.get(name, ("unchanged", []))
        inputs = tuple(dict.fromkeys([*(b.inputs if b else ()), *(a.inputs if a else ())]))
        items.append(
            Item(base.name, base.type, inputs, base.row, base.key, base.block, st, list(changes), base.explain)
        )
    summary = {s: sum(1 for it in items if it.status == s) for s in ("added", "removed", "changed", "unchanged")}
    totals = dict(new_report.totals)
    pic = Picture(
        new_report.model,
        f"{old_report.source} → {new_report.source}",
        list(new_report.input_shape),
        items,
        totals,
        title=f"diff: {old_report.model} → {new_report.model}",
        diff={"summary": summary},
    )
    return pic


def changed_boxes(boxes: Mapping[str, object], edges: Sequence[tuple[str, str]], marked: set[str]) -> set[str]:
    """The boxes that changed and their neighbours: what a PR comment's picture shows."""
    keep = set(marked)
    for s, t in edges:
        if s in marked or t in marked:
            keep.update((s, t))
    return {k for k in keep if k in boxes}


def diff_picture(d: ArchDiff, old: Graph, new: Graph, batch: int, with_explain: bool = True) -> Picture:
    """Both graphs of the diff ``d`` in one picture, each layer marked added, removed, changed or
    unchanged, with what changed in words."""
    from cnnscope.render.views.diff import change_text

    status = {x.name: (x.status, [change_text(c) for c in x.changes]) for x in d.layers}
    return union_picture(old, new, d.old, d.new, [x.name for x in d.layers], status, batch, with_explain)


def changes_mermaid(d: ArchDiff, old: Graph, new: Graph, batch: int) -> str | None:
    """A fenced mermaid chart of the changed layers and their neighbours (None: nothing changed)."""
    from cnnscope.draw.mermaid import to_mermaid
    from cnnscope.draw.scene import scene

    sc = scene(diff_picture(d, old, new, batch, with_explain=False), with_layout=False)
    marked = {
        bid
        for bid, b in sc.main.boxes.items()
        if b.kind != "input" and any(sc.items[m].status in ("added", "removed", "changed") for m in b.members)
    }
    if not marked:
        return None
    rank = {k: i for i, k in enumerate(sc.main.boxes)}
    keep = sorted(changed_boxes(sc.main.boxes, sc.main.edges, marked), key=rank.__getitem__)
    return to_mermaid(sc, keep[:MAX_PICTURE_BOXES], fenced=True)
