"""SVG of one drawing: boxes with their figures, edges, cluster frames, from dot's positions.

Every box is a ``<g class="cs-box">`` carrying its exact figures as ``data-*`` attributes
(``data-params``, ``data-macs``, ``data-activations``, ``data-shape``, ``data-rf``; a fold
also ``data-count`` and ``data-members``) and its full figures as a ``<title>`` (the hover
text); every connection is one ``<g class="cs-edge" data-src data-dst>``. The tests read these
back from the DOM.
"""

from __future__ import annotations

from html import escape
from typing import Any

from cnnscope.draw import labels
from cnnscope.draw.scene import Drawing, Scene

FONT = "ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace"
STATUS_STROKE = {"added": "#1a7f37", "removed": "#cf222e", "changed": "#bf8700", "unchanged": "#8c959f"}


def _a(v: Any) -> str:
    return escape(str(v), quote=True)


def _flat(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "x".join(str(x) for x in v)
    return "" if v is None else str(v)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


def box_svg(sc: Scene, d: Drawing, bid: str, shares_max: float) -> str:
    assert d.layout is not None
    b, f, p = d.boxes[bid], d.figs[bid], d.layout.boxes[bid]
    items = sc.items
    share = labels.measure(f, sc.measure) / sc.totals[sc.measure] if sc.totals.get(sc.measure) else 0.0
    fill = "#f6f8fa" if b.kind == "input" else labels.colour(share / shares_max if shares_max else 0.0)
    cls = ["cs-box", f"cs-{b.kind}"]
    status = ""
    if b.kind != "input":
        sts = {items[m].status for m in b.members}
        status = next(iter(sts)) if len(sts) == 1 else ("changed" if sts - {""} else "")
        if status:
            cls.append(f"cs-{status}")
    attrs = {
        "class": " ".join(cls),
        "data-box": bid,
        "data-kind": b.kind,
        "data-title": b.title,
        "data-shape": _flat(f.output_shape),
    }
    if b.kind == "layer":
        attrs["data-name"] = b.members[0]
        attrs["data-type"] = items[b.members[0]].type
    if b.kind != "input":
        attrs.update(
            {
                "data-params": _num(f.params),
                "data-macs": _num(f.macs),
                "data-activations": _num(f.activations),
                "data-rf": _flat(f.rf),
                "data-share": f"{share:.6f}",
            }
        )
    if b.kind == "fold":
        attrs["data-count"] = str(b.count)
        attrs["data-members"] = " ".join(b.members)
    if status:
        attrs["data-status"] = status
    head = " ".join(f'{k}="{_a(v)}"' for k, v in attrs.items())
    tip = labels.tooltip(b, f, items, sc.totals) if b.kind != "input" else "\n".join(d.text[bid])
    stroke = STATUS_STROKE.get(status, "#57606a")
    dash = ' stroke-dasharray="4 2"' if status == "removed" else ""
    sw = 2.2 if status in ("added", "removed", "changed") else 1.0
    out = [f'<g {head} transform="translate({p.x:.1f},{p.y:.1f})"><title>{escape(tip)}</title>']
    if b.kind == "fold":  # a stack of cards: the copies behind the first
        out.append(f'<rect x="4" y="-4" width="{p.w:.1f}" height="{p.h:.1f}" rx="4" fill="{fill}" stroke="{stroke}"/>')
    rx = 10 if b.kind == "input" else 4
    out.append(
        f'<rect class="cs-frame" width="{p.w:.1f}" height="{p.h:.1f}" rx="{rx}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{sw}"{dash}/>'
    )
    colour = "#ffffff" if labels.dark(fill) else "#1f2328"
    for i, line in enumerate(d.text[bid]):
        y = labels.PAD + 9 + i * labels.LINE_H
        weight = ' font-weight="bold"' if i == 0 else ""
        out.append(
            f'<text class="cs-l{i}" x="{labels.PAD:.0f}" y="{y:.1f}" fill="{colour}"{weight}>{escape(line)}</text>'
        )
    out.append("</g>")
    return "".join(out)


def drawing_svg(sc: Scene, d: Drawing, element_id: str = "") -> str:
    """The ``<svg>`` element of one drawing."""
    lay = d.layout
    assert lay is not None
    ms = [labels.measure(d.figs[k], sc.measure) for k, b in d.boxes.items() if b.kind != "input"]
    top = max(ms, default=0.0) / sc.totals[sc.measure] if sc.totals.get(sc.measure) else 0.0
    ident = f' id="{_a(element_id)}"' if element_id else ""
    w, h = lay.width, lay.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg"{ident} class="cs-graph" data-drawing="{_a(d.key)}" '
        f'width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.1f} {h:.1f}" font-family="{FONT}" font-size="11">'
    ]
    shade = ("#f6f8fa", "#eef1f4", "#e6eaef", "#dde2e8")
    for c in sorted(lay.clusters, key=lambda c: c.depth):
        bx = c.box
        out.append(
            f'<g class="cs-cluster" data-title="{_a(c.title)}"><rect x="{bx.x:.1f}" y="{bx.y:.1f}" '
            f'width="{bx.w:.1f}" height="{bx.h:.1f}" rx="6" fill="{shade[min(c.depth, 3)]}" stroke="#d0d7de"/>'
            f'<text x="{bx.x + 6:.1f}" y="{bx.y + 12:.1f}" fill="#57606a">{escape(c.title)}</text></g>'
        )
    for e in lay.edges:
        arrow = " ".join(f"{x:.1f},{y:.1f}" for x, y in e.arrow)
        out.append(
            f'<g class="cs-edge" data-src="{_a(e.src)}" data-dst="{_a(e.dst)}"><path d="{e.path}" fill="none" '
            f'stroke="#6e7781" stroke-width="1.1"/>'
            + (f'<polygon points="{arrow}" fill="#6e7781"/>' if arrow else "")
            + "</g>"
        )
    out.extend(box_svg(sc, d, k, top) for k in d.boxes if k in lay.boxes)
    out.append("</svg>")
    return "\n".join(out)


def to_svg(sc: Scene) -> str:
    """A standalone SVG file of the whole model (folds stay folded)."""
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + drawing_svg(sc, sc.main) + "\n"
