"""``--format mermaid``: a flowchart GitHub renders inline in Markdown.

One node per box (folds stay folded), one ``subgraph`` per stage or block, nodes coloured
by their share of the chosen cost (diff: added, removed and changed marked). ``only`` keeps a
subset of the boxes, which is how ``diff --format markdown`` shows just what changed and
its neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from cnnscope.draw import labels
from cnnscope.draw.dot import fills, status_of
from cnnscope.draw.fold import Level
from cnnscope.draw.layout import MAX_CLUSTER_DEPTH
from cnnscope.draw.scene import Scene

_ID = re.compile(r"[^A-Za-z0-9_]")
STATUS_STYLE = {
    "added": "stroke:#1a7f37,stroke-width:3px",
    "removed": "stroke:#cf222e,stroke-width:3px,stroke-dasharray:5 3",
    "changed": "stroke:#bf8700,stroke-width:3px",
}


def mid(bid: str) -> str:
    return "n_" + _ID.sub("_", bid)


def _label(lines: list[str]) -> str:
    esc = [t.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") for t in lines]
    return '"' + "<br/>".join(esc) + '"'


def to_mermaid(sc: Scene, only: Collection[str] | None = None, fenced: bool = False) -> str:
    d = sc.main
    keep = set(d.boxes) if only is None else set(only)
    fill = fills(sc, d)
    out = ["flowchart TD"]
    seq = [0]

    def emit(lv: Level, depth: int, indent: str) -> None:
        for c in lv.children:
            if isinstance(c, Level):
                inner = [b.id for b in c.boxes() if b.id in keep]
                if not inner:
                    continue
                if depth < MAX_CLUSTER_DEPTH:
                    seq[0] += 1
                    out.append(f"{indent}subgraph s{seq[0]}[{_label([c.title])}]")
                    emit(c, depth + 1, indent + "  ")
                    out.append(f"{indent}end")
                else:
                    emit(c, depth, indent)
            elif c.id in keep:
                shape = ("[[", "]]") if c.kind == "fold" else ("[", "]")
                out.append(f"{indent}{mid(c.id)}{shape[0]}{_label(d.text[c.id])}{shape[1]}")

    emit(d.level, 0, "  ")
    for bid, b in d.boxes.items():
        if b.kind == "input" and bid in keep:
            out.append(f"  {mid(bid)}([{_label(d.text[bid])}])")
    out.extend(f"  {mid(s)} --> {mid(t)}" for s, t in d.edges if s in keep and t in keep)
    for bid in sorted(keep):
        if bid not in d.boxes:
            continue
        style = [f"fill:{fill[bid]}"] if bid in fill else ["fill:#f6f8fa"]
        if bid in fill and labels.dark(fill[bid]):
            style.append("color:#fff")
        st = status_of(sc, d, bid) if bid in fill else ""
        if st in STATUS_STYLE:
            style.append(STATUS_STYLE[st])
        out.append(f"  style {mid(bid)} {','.join(style)}")
    text = "\n".join(out) + "\n"
    return f"```mermaid\n{text}```\n" if fenced else text
