"""Positions from Graphviz: boxes, clusters and edge splines of one drawing.

The layered layout is Graphviz's ``dot`` (https://graphviz.org), run as a subprocess: the
drawing goes in as DOT text with every box's size fixed, and ``-Tjson`` gives back where
each box, cluster and edge went. Nothing is drawn by Graphviz; :mod:`cnnscope.draw.svg`
draws from these positions, so the SVG, the HTML and the DOM the tests read are ours.
Why dot: it is the reference layered (Sugiyama) layout, kept by the Graphviz project for
decades, packaged everywhere (``apt-get install graphviz``), and it draws clusters (stages,
blocks) natively; it handles the 10,000-layer graphs of bench/draw.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cnnscope.draw.fold import Level
from cnnscope.errors import UsageError

MAX_CLUSTER_DEPTH = 3  # deeper groups are drawn without their own frame
DOT_TIMEOUT_S = 900
INSTALL_HINT = (
    "install Graphviz: `apt-get install graphviz` (Debian, Ubuntu), `brew install graphviz` (macOS), "
    "`conda install graphviz`; or use --format dot / --format mermaid, which need no renderer"
)


@dataclass
class Placed:
    x: float  # top-left, in px
    y: float
    w: float
    h: float


@dataclass
class Cluster:
    title: str
    box: Placed
    depth: int


@dataclass
class Edge:
    src: str
    dst: str
    path: str  # SVG path data
    arrow: list[tuple[float, float]]  # the arrowhead's triangle


@dataclass
class Layout:
    width: float
    height: float
    boxes: dict[str, Placed] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)


def dot_binary() -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise UsageError(
            "missing-renderer", "drawing a layout needs Graphviz's `dot`, which is not on PATH", hint=INSTALL_HINT
        )
    return exe


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(
    level: Level,
    node: Callable[[str], str],
    edges: list[tuple[str, str]],
    graph: str = "",
    defaults: str = 'node [shape=box, fixedsize=true, label=""];',
) -> str:
    """DOT text of a drawing: its boxes (``node(id)`` gives each one's attributes), clusters, edges."""
    out = [
        "digraph G {",
        '  graph [rankdir=TB, nodesep=0.18, ranksep=0.28, fontname="Courier", fontsize=11, margin=0.1'
        + (", " + graph if graph else "")
        + "];",
        "  " + defaults,
        "  edge [arrowsize=0.6];",
    ]
    seq = [0]

    def emit(lv: Level, depth: int, indent: str) -> None:
        for c in lv.children:
            if isinstance(c, Level):
                if depth < MAX_CLUSTER_DEPTH:
                    seq[0] += 1
                    out.append(f"{indent}subgraph cluster_{seq[0]} {{")
                    out.append(f"{indent}  label={quote(c.title)}; labeljust=l; margin=6;")
                    emit(c, depth + 1, indent + "  ")
                    out.append(f"{indent}}}")
                else:
                    emit(c, depth, indent)
            else:
                out.append(f"{indent}{quote(c.id)} [{node(c.id)}];")

    emit(level, 0, "  ")
    placed = {b.id for b in level.boxes()}
    for s, _ in edges:
        if s not in placed:
            placed.add(s)
            out.append(f"  {quote(s)} [{node(s)}];")
    out.extend(f"  {quote(s)} -> {quote(d)};" for s, d in edges)
    out.append("}")
    return "\n".join(out) + "\n"


def run_dot(text: str, fmt: str = "json") -> bytes:
    """``dot -T<fmt>`` of ``text``: the output, or a diagnostic (exit 2) naming what to install."""
    exe = dot_binary()
    try:
        proc = subprocess.run([exe, f"-T{fmt}"], input=text.encode(), capture_output=True, timeout=DOT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise UsageError("layout-timeout", f"Graphviz did not lay the graph out in {DOT_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError("layout-failed", "Graphviz `dot` failed: " + (msg[-1] if msg else f"exit {proc.returncode}"))
    return proc.stdout


def _pt(s: str, height: float) -> tuple[float, float]:
    x, y = s.split(",")[:2]
    return float(x), height - float(y)


def _edge_path(pos: str, height: float) -> tuple[str, list[tuple[float, float]]]:
    """A DOT ``pos`` (``e,x,y p0 p1 …``: B-spline control points) as SVG path + arrowhead."""
    end = None
    pts: list[tuple[float, float]] = []
    for tok in pos.split():
        if tok.startswith("e,"):
            end = _pt(tok[2:], height)
        elif not tok.startswith("s,"):
            pts.append(_pt(tok, height))
    d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
    for i in range(1, len(pts) - 2, 3):
        (x1, y1), (x2, y2), (x3, y3) = pts[i], pts[i + 1], pts[i + 2]
        d += f"C{x1:.1f},{y1:.1f} {x2:.1f},{y2:.1f} {x3:.1f},{y3:.1f}"
    arrow: list[tuple[float, float]] = []
    if end is not None:
        (bx, by), (ex, ey) = pts[-1], end
        dx, dy = ex - bx, ey - by
        n = max((dx * dx + dy * dy) ** 0.5, 1e-6)
        ux, uy = dx / n, dy / n
        arrow = [(ex, ey), (bx - uy * 3.2, by + ux * 3.2), (bx + uy * 3.2, by - ux * 3.2)]
    return d, arrow


def layout(level: Level, sizes: dict[str, tuple[float, float]], edges: list[tuple[str, str]]) -> Layout:
    """Lay out ``level``'s boxes (and the outside sources named in ``edges``) with dot."""
    big = len(sizes) > 1500

    def node(bid: str) -> str:
        w, h = sizes[bid]
        return f"width={w / 72:.3f}, height={h / 72:.3f}"

    text = to_dot(level, node, edges, "mclimit=0.2, nslimit=2, searchsize=10" if big else "")
    data: dict[str, Any] = json.loads(run_dot(text))
    x0, y0, x1, y1 = (float(v) for v in data["bb"].split(","))
    height = y1
    out = Layout(width=x1 - x0, height=y1 - y0)
    gvid: dict[int, str] = {}
    for obj in data.get("objects", []):
        name = obj.get("name", "")
        if "nodes" in obj or name.startswith("cluster_"):
            if "bb" in obj:
                a, b, c, d = (float(v) for v in obj["bb"].split(","))
                depth = 0
                out.clusters.append(Cluster(obj.get("label", ""), Placed(a, height - d, c - a, d - b), depth))
            continue
        gvid[obj["_gvid"]] = name
        cx, cy = _pt(obj["pos"], height)
        w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
        out.boxes[name] = Placed(cx - w / 2, cy - h / 2, w, h)
    for e in data.get("edges", []):
        path, arrow = _edge_path(e["pos"], height)
        out.edges.append(Edge(gvid[e["tail"]], gvid[e["head"]], path, arrow))
    _depths(out.clusters)
    return out


def _depths(clusters: list[Cluster]) -> None:
    """Nesting depth of each cluster (how many others contain it), for shading."""
    for c in clusters:
        b = c.box
        c.depth = sum(
            1
            for o in clusters
            if o is not c
            and o.box.x <= b.x
            and o.box.y <= b.y
            and o.box.x + o.box.w >= b.x + b.w
            and o.box.y + o.box.h >= b.y + b.h
        )
