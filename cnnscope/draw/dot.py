"""``--format dot``: the drawing as a Graphviz file, labels and colours included.

Render it with ``dot -Tsvg net.dot > net.svg`` (or any Graphviz tool); ``cnnscope draw -o
net.png`` does exactly that with ``-Tpng``. Folds stay folded, clusters are the stages and
blocks, every box is filled by its share of the chosen cost.
"""

from __future__ import annotations

from cnnscope.draw import labels
from cnnscope.draw.layout import quote
from cnnscope.draw.layout import to_dot as dot_text
from cnnscope.draw.scene import Drawing, Scene
from cnnscope.draw.svg import STATUS_STROKE

DEFAULTS = 'node [shape=box, style="rounded,filled", fontname="Courier", fontsize=10, margin="0.08,0.04"];'


def fills(sc: Scene, d: Drawing) -> dict[str, str]:
    """Box id -> its fill: the palette colour of its share, relative to the costliest box."""
    vals = {k: labels.measure(f, sc.measure) for k, f in d.figs.items() if d.boxes[k].kind != "input"}
    top = max(vals.values(), default=0.0)
    return {k: labels.colour(v / top if top else 0.0) for k, v in vals.items()}


def status_of(sc: Scene, d: Drawing, bid: str) -> str:
    sts = {sc.items[m].status for m in d.boxes[bid].members}
    return next(iter(sts)) if len(sts) == 1 else ("changed" if sts - {""} else "")


def to_dot(sc: Scene) -> str:
    d = sc.main
    fill = fills(sc, d)

    def node(bid: str) -> str:
        text = "\\l".join(t.replace("\\", "\\\\").replace('"', '\\"') for t in d.text[bid]) + "\\l"
        attrs = [f'label="{text}"', f"tooltip={quote(labels.tooltip(d.boxes[bid], d.figs[bid], sc.items, sc.totals))}"]
        if bid in fill:
            attrs.append(f'fillcolor="{fill[bid]}"')
            if labels.dark(fill[bid]):
                attrs.append('fontcolor="white"')
        else:
            attrs.append('fillcolor="#f6f8fa"')
        st = status_of(sc, d, bid) if bid in fill else ""
        if st and st != "unchanged":
            attrs.append(f'color="{STATUS_STROKE[st]}", penwidth=2.2')
            if st == "removed":
                attrs[-1] += ', style="rounded,filled,dashed"'
        if d.boxes[bid].kind == "fold":
            attrs.append("peripheries=2")
        return ", ".join(attrs)

    title = f"label={quote(sc.picture.title or sc.picture.model)}, labelloc=t, fontsize=14"
    return f"// cnnscope draw: {sc.picture.source}\n" + dot_text(d.level, node, d.edges, title, DEFAULTS)
