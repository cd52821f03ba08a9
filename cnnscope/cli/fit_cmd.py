"""`fit`: input sizes for which every window fits exactly, per spatial dim."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from cnnscope.cli.app import app
from cnnscope.cli.common import BatchOpt, FormatOpt, InputOpt, KwargsOpt, SourceArg, check_choice, load_graph
from cnnscope.errors import UsageError

FIT_FORMATS = ("table", "json", "csv", "markdown")
# the per-dim options, by the dim names of a 1-d / 2-d / 3-d input (L; H, W; D, H, W)
DIM_OPTIONS = {"L": "--length", "D": "--depth", "H": "--height", "W": "--width"}


def _range_opt(name: str, what: str) -> Any:
    return typer.Option(
        name, help=f"sizes to try along {what}, LO:HI inclusive (overrides --range)", show_default=False
    )


def _ranges(graph: Any, all_dims: str | None, per_dim: dict[str, str | None]) -> list[tuple[int, int]]:
    """One (lo, hi) per spatial dim: its own option, else --range, else the spec's size ± 32."""
    from cnnscope.fit import parse_range
    from cnnscope.layers.conv import dim_name

    spatial = graph.input_shape[1:]
    nd = len(spatial)
    if nd == 0:
        raise UsageError(
            "no-spatial-dims", f"`{graph.name}` takes an input with no spatial dims; there are no windows to fit"
        )
    names = [dim_name(nd, i) for i in range(nd)]
    for dim, text in per_dim.items():
        if text is not None and dim not in names:
            opts = ", ".join(DIM_OPTIONS[n] for n in names if n in DIM_OPTIONS) or "--range"
            raise UsageError(
                "bad-option",
                f"{DIM_OPTIONS[dim]}: `{graph.name}` takes a {nd}-d input (dims {', '.join(names)})",
                hint=f"use {opts}",
            )
    out = []
    for name, size in zip(names, spatial, strict=True):
        own = per_dim.get(name)
        if own is not None:
            out.append(parse_range(own, DIM_OPTIONS[name]))
        elif all_dims is not None:
            out.append(parse_range(all_dims))
        else:
            out.append((max(1, size - 32), size + 32))
    return out


def _problem(r: Any) -> str:
    from cnnscope.fit import describe

    return r.error or (f"`{r.problems[0].layer}` {describe(r.problems[0])}" if r.problems else "")


def _result_json(r: Any) -> dict[str, Any]:
    from cnnscope.fit import describe

    return {
        "size": r.size,
        "input": list(r.input),
        "fits": r.fits,
        "final": r.final,
        "output_shape": list(r.output_shape) if r.output_shape else None,
        "params_change": r.params_change,
        "error": r.error,
        "problems": [
            {"layer": w.layer, "dim": w.dim, "lost": w.lost, "partial": w.partial, "detail": describe(w)}
            for w in r.problems
        ],
    }


@app.command(rich_help_panel="Learn")
def fit(
    source: SourceArg,
    range_: Annotated[
        str | None,
        typer.Option(
            "--range",
            "-r",
            help="sizes to try along every spatial dim, LO:HI inclusive (default: the spec's size ± 32)",
            show_default=False,
        ),
    ] = None,
    height: Annotated[str | None, _range_opt("--height", "H")] = None,
    width: Annotated[str | None, _range_opt("--width", "W")] = None,
    depth: Annotated[str | None, _range_opt("--depth", "D (3-d inputs)")] = None,
    length: Annotated[str | None, _range_opt("--length", "L (1-d inputs)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="list every size, not only those that fit")] = False,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    kwargs: KwargsOpt = None,
) -> int:
    """Input sizes for which every window fits: no dropped pixels, no ceil-mode partial windows.
    Each spatial dim is scanned on its own (they do not interact unless a window follows a
    flatten). Exit 1 when some dim has no size that fits."""
    check_choice("--format", format, FIT_FORMATS)
    from cnnscope.fit import scan_dims

    graph = load_graph(source, input, kwargs)
    ranges = _ranges(graph, range_, {"H": height, "W": width, "D": depth, "L": length})
    res = scan_dims(graph, ranges, batch)
    ok = res.any_fit
    if format == "json":
        doc: dict[str, Any] = {
            "schema_version": 2,
            "model": graph.name,
            "mode": "per-dim" if res.per_dim else "combined",
            "note": res.note,
            "dims": [
                {
                    "dim": d.dim,
                    "range": [d.lo, d.hi],
                    "fits": d.fits,
                    "sizes": [_result_json(r) for r in d.results] if res.per_dim else None,
                }
                for d in res.dims
            ],
            "inputs": [_result_json(r) for r in res.combos] if not res.per_dim else None,
            "example": list(res.example) if res.example else None,
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0 if ok else 1
    rows = (
        [(d.dim, r) for d in res.dims for r in d.results]
        if res.per_dim
        else [("×".join(d.dim for d in res.dims), r) for r in res.combos]
    )
    shown = [(dim, r) for dim, r in rows if r.fits or all_]
    problems = any(_problem(r) for _, r in shown)  # without --all every row fits: no problem column
    heads = ["dim", "size", "fits", "last map"] + (["first problem"] if problems else [])
    cells = []
    for dim, r in shown:
        size = str(r.size) if res.per_dim else "×".join(map(str, r.input))
        final = "–" if r.final is None and r.output_shape is None else str(r.final if r.final is not None else "")
        line = [dim, size, "yes" if r.fits else "no", final + (" *" if r.params_change else "")]
        cells.append(line + ([_problem(r)] if problems else []))
    summary = [res.note[0].upper() + res.note[1:] + "."]
    for d in res.dims:
        n = d.hi - d.lo + 1
        summary.append(
            f"{d.dim}: {len(d.fits)} of {n} sizes fit" + (": " + ", ".join(map(str, d.fits)) if d.fits else "")
        )
    if res.example:
        summary.append("fits exactly, e.g. " + "×".join(map(str, res.example)) + " (checked with every dim set)")
    else:
        summary.append("no input in these ranges fits every window")
    if format == "csv":
        import csv

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow([h.replace(" ", "_") for h in heads])
        w.writerows(cells)
        return 0 if ok else 1
    title = f"{graph.name}: input sizes " + ", ".join(f"{d.dim} {d.lo}..{d.hi}" for d in res.dims)
    caption = "last map: the dim's size after the last window; * a parameter count changes (flatten → linear)"
    if format == "markdown":
        lines = [f"### {title}", "", "| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        lines += ["", f"_{caption}_", ""] + [f"- {x}" for x in summary]
        sys.stdout.write("\n".join(lines) + "\n")
        return 0 if ok else 1
    from rich.text import Text

    from cnnscope.render.table import Col, console, fitted_table, hidden_line, width_of

    con = console(sys.stdout)
    cols = [
        Col(h, [row[j] for row in cells], priority=100 - j, wrap=h == "first problem", min_width=20, justify="left")
        for j, h in enumerate(heads)
    ]
    t, lay = fitted_table(cols, width_of(con), header_style="bold")
    con.print(Text(title, style="bold"))  # above the table, not squeezed into its width
    con.print(t)
    con.print(Text(caption, style="dim"))
    for sentence in summary:
        con.print(Text(sentence))
    if lay.hidden:
        con.print(Text(hidden_line(lay.hidden, lay.needed), style="dim"))
    return 0 if ok else 1
