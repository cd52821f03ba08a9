"""`fit`: input sizes for which every window fits exactly."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cnnscope.cli.app import app
from cnnscope.cli.common import BatchOpt, InputOpt, KwargsOpt, SourceArg, check_choice, load_graph

FIT_FORMATS = ("table", "json")


@app.command(rich_help_panel="Learn")
def fit(
    source: SourceArg,
    range_: Annotated[
        str | None,
        typer.Option(
            "--range", "-r", help="sizes to try, LO:HI inclusive (default: the spec's size ± 32)", show_default=False
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="list every size, not only those that fit")] = False,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: Annotated[str, typer.Option("--format", "-f", help="table | json")] = "table",
    kwargs: KwargsOpt = None,
) -> int:
    """Square input sizes for which every window fits: no dropped pixels, no ceil-mode partial
    windows. Exit 1 when no size in the range fits."""
    check_choice("--format", format, FIT_FORMATS)
    from cnnscope.fit import default_range, describe, parse_range, scan

    graph = load_graph(source, input, kwargs)
    lo, hi = parse_range(range_) if range_ is not None else default_range(graph)
    results = scan(graph, range(lo, hi + 1), batch)
    good = [r.size for r in results if r.fits]
    if format == "json":
        doc = {
            "schema_version": 1,
            "model": graph.name,
            "range": [lo, hi],
            "fits": good,
            "sizes": [
                {
                    "size": r.size,
                    "fits": r.fits,
                    "output_shape": list(r.output_shape) if r.output_shape else None,
                    "params_change": r.params_change,
                    "error": r.error,
                    "problems": [
                        {"layer": w.layer, "dim": w.dim, "lost": w.lost, "partial": w.partial, "detail": describe(w)}
                        for w in r.problems
                    ],
                }
                for r in results
            ],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0 if good else 1
    from rich.table import Table
    from rich.text import Text

    from cnnscope.render.table import console

    con = console(sys.stdout)
    t = Table(
        title=f"{graph.name}: input sizes {lo}..{hi}",
        header_style="bold",
        caption="every spatial dim set to the size; * the parameter count changes (flatten → linear)",
    )
    for col in ("size", "fits", "output", "first problem"):
        t.add_column(col)
    for r in results:
        if not (r.fits or all_):
            continue
        first = r.error or (f"`{r.problems[0].layer}` {describe(r.problems[0])}" if r.problems else "")
        out = "×".join(map(str, r.output_shape)) if r.output_shape else "–"
        t.add_row(
            Text(str(r.size)),
            Text("yes" if r.fits else "no"),
            Text(out + (" *" if r.params_change else "")),
            Text(first),
        )
    con.print(t)
    con.print(f"{len(good)} of {len(results)} sizes fit" + (": " + ", ".join(map(str, good)) if good else ""))
    return 0 if good else 1
