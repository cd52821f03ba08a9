"""`diff`: what changed between two architectures, per layer and in total.

Layers are matched by name. A layer is *changed* when its type, fields, inputs, output
shape or parameter count differ; the deltas are in params, MACs and activation memory
(whichever figures the analyzers give), and every numeric total is compared.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from cnnscope.analyze.base import Report, analyze
from cnnscope.cli.app import app
from cnnscope.cli.check_cmd import human
from cnnscope.cli.common import BatchOpt, InputOpt, check_choice, load_graph, parse_input
from cnnscope.errors import Location, SourceError, UsageError
from cnnscope.graph import Graph, Node
from cnnscope.render.units import count, percent, shape

DIFF_FORMATS = ("table", "json", "markdown")
LAYER_FIGURES = ("params", "macs", "activation_bytes")  # per-layer deltas, where the report has them
_MARK = {"added": "+", "removed": "-", "changed": "~", "unchanged": " "}


@dataclass
class LayerDiff:
    name: str
    status: str  # added | removed | changed | unchanged
    old_type: str | None = None
    new_type: str | None = None
    changes: list[str] = field(default_factory=list)
    deltas: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # figure -> (old, new)
    loc: Location | None = None

    def delta(self, fig: str) -> float | None:
        old, new = self.deltas.get(fig, (None, None))
        if old is None and new is None:
            return None
        return float((new or 0) - (old or 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "old_type": self.old_type,
            "new_type": self.new_type,
            "changes": self.changes,
            "figures": {k: {"old": o, "new": n, "delta": self.delta(k)} for k, (o, n) in self.deltas.items()},
        }


@dataclass
class ArchDiff:
    old: Report
    new: Report
    layers: list[LayerDiff]
    totals: dict[str, tuple[Any, Any]]
    units: dict[str, str]

    def count(self, status: str) -> int:
        return sum(1 for d in self.layers if d.status == status)

    @property
    def differs(self) -> bool:
        return any(d.status != "unchanged" for d in self.layers) or any(o != n for o, n in self.totals.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "old": {"model": self.old.model, "source": self.old.source},
            "new": {"model": self.new.model, "source": self.new.source},
            "summary": {s: self.count(s) for s in ("added", "removed", "changed", "unchanged")},
            "layers": [d.to_json() for d in self.layers],
            "totals": {
                k: {"old": o, "new": n, "delta": _sub(n, o), "percent": _pct(o, n)} for k, (o, n) in self.totals.items()
            },
        }


def _sub(new: Any, old: Any) -> Any:
    if isinstance(new, (int, float)) and isinstance(old, (int, float)):
        return new - old
    return None


def _pct(old: Any, new: Any) -> float | None:
    d = _sub(new, old)
    if d is None or not old:
        return None
    return round(float(d) / float(old) * 100, 4)


def _top_numeric(report: Report) -> dict[str, Any]:
    return {k: v for k, v in report.totals.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _layer_changes(a: Node, b: Node, ra: dict[str, Any], rb: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if a.type != b.type:
        out.append(f"type {a.type} → {b.type}")
    else:
        ca, cb = a.layer.config(), b.layer.config()
        for k in list(dict.fromkeys([*ca, *cb])):
            if ca.get(k) != cb.get(k):
                out.append(f"{k}: {_show(ca.get(k, '(default)'))} → {_show(cb.get(k, '(default)'))}")
    if a.inputs != b.inputs:
        out.append(f"from: {', '.join(a.inputs)} → {', '.join(b.inputs)}")
    if ra.get("output_shape") != rb.get("output_shape"):
        out.append(f"output {shape(ra.get('output_shape'))} → {shape(rb.get('output_shape'))}")
    if ra.get("params") != rb.get("params") and not out:
        out.append(f"params {count(ra.get('params'))} → {count(rb.get('params'))}")
    return out


def _show(v: Any) -> str:
    return json.dumps(v) if not isinstance(v, str) else v


def diff_graphs(old: Graph, new: Graph, batch: int = 1) -> ArchDiff:
    ro, rn = analyze(old, None, batch=batch), analyze(new, None, batch=batch)
    figs = [f for f in LAYER_FIGURES if any(f in r for r in ro.rows) or any(f in r for r in rn.rows)]
    names_o, names_n = [n.name for n in old.nodes], [n.name for n in new.nodes]
    in_o, in_n = set(names_o), set(names_n)
    # interleave: the order of the new graph, removed layers where they stood in the old one
    order: list[str] = []
    sm = difflib.SequenceMatcher(a=names_o, b=names_n, autojunk=False)
    for _tag, i1, i2, j1, j2 in sm.get_opcodes():
        order.extend(n for n in names_o[i1:i2] if n not in in_n)
        order.extend(names_n[j1:j2])
    seen: set[str] = set()
    layers: list[LayerDiff] = []
    for name in order:
        if name in seen:
            continue
        seen.add(name)
        a = old.node(name) if name in in_o else None
        b = new.node(name) if name in in_n else None
        rowo = ro.row(name) if a else {}
        rown = rn.row(name) if b else {}
        deltas = {f: (rowo.get(f), rown.get(f)) for f in figs}
        if a is None and b is not None:
            layers.append(LayerDiff(name, "added", None, b.type, [], deltas, b.loc))
        elif b is None and a is not None:
            layers.append(LayerDiff(name, "removed", a.type, None, [], deltas, a.loc))
        elif a is not None and b is not None:
            ch = _layer_changes(a, b, rowo, rown)
            layers.append(LayerDiff(name, "changed" if ch else "unchanged", a.type, b.type, ch, deltas, b.loc))
    to, tn = _top_numeric(ro), _top_numeric(rn)
    totals = {k: (to.get(k), tn.get(k)) for k in dict.fromkeys([*to, *tn])}
    units = {c.key: c.unit for c in [*ro.columns, *rn.columns]}
    for k in totals:
        units.setdefault(k, "bytes" if k.endswith("bytes") else "flops" if k == "flops" else "count")
    return ArchDiff(ro, rn, layers, totals, units)


# -- git ----------------------------------------------------------------------------------


def load_at_revision(source: str, rev: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """The spec file ``source`` as it was at git revision ``rev`` (``git show REV:./file``)."""
    from cnnscope.frontends.yaml.loader import load_spec

    path = Path(source)
    if not path.is_file():
        raise SourceError("source-not-found", f"--against needs a spec file in a git work tree; no file `{source}`")
    folder = path.resolve().parent
    try:
        proc = subprocess.run(
            ["git", "cat-file", "blob", "--end-of-options", f"{rev}:./{path.name}"],  # REV is never an option
            cwd=folder,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("no-git", "--against needs git, which is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise SourceError("git-failed", f"`git show {rev}:{source}` did not finish in 60 s") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(
            "git-failed",
            f"cannot read `{source}` at revision `{rev}`: " + (msg[0] if msg else "git show failed"),
            hint="is the file committed at that revision, and is it inside a git repository?",
        )
    return load_spec(proc.stdout, file=f"{rev}:{source}", source=f"{source}@{rev}", input_shape=input_shape)


# -- rendering ----------------------------------------------------------------------------


def _signed(v: Any, unit: str) -> str:
    if v is None:
        return ""
    if v == 0:
        return "0"
    return ("+" if v > 0 else "-") + human(abs(v), unit)


def _headline(d: ArchDiff) -> str:
    return (
        f"{d.old.model} → {d.new.model}: {d.count('added')} added, {d.count('removed')} removed, "
        f"{d.count('changed')} changed, {d.count('unchanged')} unchanged"
    )


def render_table(d: ArchDiff, out: TextIO, show_all: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    from cnnscope.render.table import console

    con = console(out)
    figs = [f for f in LAYER_FIGURES if any(f in x.deltas for x in d.layers)]
    t = Table(title=_headline(d), header_style="bold")
    t.add_column("")
    t.add_column("layer", no_wrap=True)
    t.add_column("type", no_wrap=True)
    t.add_column("change")
    for f in figs:
        t.add_column(f"Δ {f}", justify="right", no_wrap=True)
    style = {"added": "green", "removed": "red", "changed": "yellow", "unchanged": "dim"}
    for x in d.layers:
        if x.status == "unchanged" and not show_all:
            continue
        typ = x.new_type or x.old_type or ""
        if x.old_type and x.new_type and x.old_type != x.new_type:
            typ = f"{x.old_type} → {x.new_type}"
        t.add_row(
            Text(_MARK[x.status], style=style[x.status]),
            Text(x.name, style=style[x.status]),
            Text(typ),
            Text("; ".join(x.changes) or x.status),
            *(Text(_signed(x.delta(f), d.units.get(f, "count"))) for f in figs),
        )
    con.print(t)
    tt = Table(title="totals", header_style="bold")
    for col in ("figure", "old", "new", "Δ", "Δ %"):
        tt.add_column(col, justify="left" if col == "figure" else "right", no_wrap=True)
    for k, (o, n) in d.totals.items():
        u = d.units.get(k, "count")
        p = _pct(o, n)
        tt.add_row(
            k,
            human(o, u),
            human(n, u),
            _signed(_sub(n, o), u),
            "" if p is None else ("+" if p > 0 else "") + percent(p / 100),
        )
    con.print(tt)


def render_markdown(d: ArchDiff, out: TextIO, show_all: bool, picture: str | None = None) -> None:
    figs = [f for f in LAYER_FIGURES if any(f in x.deltas for x in d.layers)]
    lines = [f"### cnnscope diff: {_headline(d)}", ""]
    shown = [x for x in d.layers if show_all or x.status != "unchanged"]
    if shown:
        lines.append("| | layer | type | change | " + " | ".join(f"Δ {f}" for f in figs) + " |")
        lines.append("|:-:|---|---|---|" + "---:|" * len(figs))
        for x in shown:
            typ = x.new_type or x.old_type or ""
            if x.old_type and x.new_type and x.old_type != x.new_type:
                typ = f"{x.old_type} → {x.new_type}"
            cells = [
                _MARK[x.status].strip() or "·",
                f"`{x.name}`",
                typ,
                "; ".join(x.changes) or x.status,
                *(_signed(x.delta(f), d.units.get(f, "count")) for f in figs),
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    lines += ["| total | old | new | Δ | Δ % |", "|---|---:|---:|---:|---:|"]
    for k, (o, n) in d.totals.items():
        u = d.units.get(k, "count")
        p = _pct(o, n)
        lines.append(
            f"| {k} | {human(o, u)} | {human(n, u)} | {_signed(_sub(n, o), u)} | "
            f"{'' if p is None else ('+' if p > 0 else '') + percent(p / 100)} |"
        )
    if picture:  # GitHub renders mermaid: the changed layers and their neighbours, drawn
        lines += ["", "<details><summary>what changed, drawn</summary>", "", picture.rstrip("\n"), "", "</details>"]
    out.write("\n".join(lines) + "\n")


# -- pictures (cnnscope.draw) --------------------------------------------------------------

MAX_PICTURE_BOXES = 200  # GitHub's mermaid gives up on much larger charts


def union_picture(d: ArchDiff, old: Graph, new: Graph, batch: int, with_explain: bool = True) -> Any:
    from cnnscope.draw.diffview import union_picture as union

    status = {x.name: (x.status, x.changes) for x in d.layers}
    return union(old, new, d.old, d.new, [x.name for x in d.layers], status, batch, with_explain)


def changes_mermaid(d: ArchDiff, old: Graph, new: Graph, batch: int) -> str | None:
    """A fenced mermaid chart of the changed layers and their neighbours (None: nothing changed)."""
    from cnnscope.draw.diffview import changed_boxes
    from cnnscope.draw.mermaid import to_mermaid
    from cnnscope.draw.scene import scene

    sc = scene(union_picture(d, old, new, batch, with_explain=False), with_layout=False)
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


@app.command(rich_help_panel="CI")
def diff(
    old: Annotated[
        str, typer.Argument(help="the old spec or source (with --against: the spec file)", show_default=False)
    ],
    new: Annotated[str | None, typer.Argument(help="the new spec or source", show_default=False)] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against", metavar="REV", help="compare the file with itself at a git revision", show_default=False
        ),
    ] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: Annotated[str, typer.Option("--format", "-f", help="table | json | markdown")] = "table",
    all_layers: Annotated[bool, typer.Option("--all", help="list unchanged layers too")] = False,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="exit 1 when the architectures differ")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="also draw the union of both graphs, changes marked (.html .svg .png .dot .mmd)",
            show_default=False,
        ),
    ] = None,
) -> int:
    """What changed between two architectures: layers added, removed, changed; deltas and totals."""
    check_choice("--format", format, DIFF_FORMATS)
    if batch < 1:
        raise UsageError("bad-option", f"--batch must be a positive integer, got {batch}")
    draw_fmt = None
    if output is not None:
        from cnnscope.cli.draw_cmd import check_writable, output_format

        draw_fmt = output_format(output, None)
        check_writable(output)
    if against is not None:
        if new is not None:
            raise UsageError(
                "bad-usage",
                "give one spec with --against REV, or two specs without it",
                hint="cnnscope diff net.yaml --against main",
            )
        g_old = load_at_revision(old, against, parse_input(input))
        g_new = load_graph(old, input)
    else:
        if new is None:
            raise UsageError(
                "bad-usage",
                "diff needs two specs, or one spec and --against REV",
                hint="cnnscope diff old.yaml new.yaml  |  cnnscope diff net.yaml --against main",
            )
        g_old, g_new = load_graph(old, input), load_graph(new, input)
    d = diff_graphs(g_old, g_new, batch)
    if output is not None and draw_fmt is not None:
        from cnnscope.cli.draw_cmd import emit
        from cnnscope.draw import render

        emit(output, render(union_picture(d, g_old, g_new, batch), draw_fmt, batch=batch), draw_fmt)
    if format == "json":
        sys.stdout.write(json.dumps(d.to_json(), indent=2) + "\n")
    elif format == "markdown":
        render_markdown(d, sys.stdout, all_layers, changes_mermaid(d, g_old, g_new, batch))
    else:
        render_table(d, sys.stdout, all_layers)
    return 1 if exit_code and d.differs else 0
