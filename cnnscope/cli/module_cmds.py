"""`export` (a model -> an editable YAML spec) and `verify` (analytic figures vs torch)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cnnscope.cli.app import app
from cnnscope.cli.common import (
    BatchOpt,
    FormatOpt,
    InputOpt,
    KwargsOpt,
    SourceArg,
    check_choice,
    load_graph,
    parse_input,
)
from cnnscope.errors import UsageError
from cnnscope.render.units import count


@app.command(rich_help_panel="Modules")
def export(
    source: SourceArg,
    input: InputOpt = None,
    kwargs: KwargsOpt = None,
    flat: Annotated[bool, typer.Option("--flat", help="one entry per layer, no blocks")] = False,
) -> None:
    """Write the model as a YAML spec on stdout (its layer names; blocks where it repeats itself)."""
    from cnnscope.export import export_yaml

    sys.stdout.write(export_yaml(load_graph(source, input, kwargs), flat=flat))


@app.command(rich_help_panel="Modules")
def verify(
    source: SourceArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    kwargs: KwargsOpt = None,
) -> None:
    """Run one real forward pass and compare every analytic figure with torch's (exit 1 on a mismatch)."""
    check_choice("--format", format, ("table", "json", "csv", "markdown"))
    if batch < 1:
        raise UsageError("bad-option", f"--batch must be a positive integer, got {batch}")
    from cnnscope.render.progress import working
    from cnnscope.verify import verify as run_verify

    with working(f"verifying {source}: one real forward pass against every analytic figure"):
        graph, checks = run_verify(source, parse_input(input), kwargs, batch)
    ok = all(c.ok for c in checks)
    if format == "json":
        doc = {
            "model": graph.name,
            "source": graph.source,
            "capture": graph.extras.get("capture", "spec"),
            "ok": ok,
            "checks": [c.to_json() for c in checks],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif format in ("csv", "markdown"):
        rows = [["check", "layer", "analytic", "torch", "ok"]]
        rows += [[c.what, c.layer or "", str(c.analytic), str(c.torch), "yes" if c.ok else "NO"] for c in checks]
        if format == "csv":
            import csv

            csv.writer(sys.stdout, lineterminator="\n").writerows(rows)
        else:
            lines = [
                f"### {graph.name}: analytic vs torch",
                "",
                "| " + " | ".join(rows[0]) + " |",
                "|---|---|---:|---:|---|",
            ]
            lines += ["| " + " | ".join(x.replace("|", "\\|") for x in r) + " |" for r in rows[1:]]
            sys.stdout.write("\n".join(lines) + "\n")
    else:
        from rich.table import Table

        from cnnscope.render.table import console as make_console

        shape_checks = [c for c in checks if c.what == "shape"]
        bad = [c for c in shape_checks if not c.ok]
        table = Table(title=f"{graph.name}: analytic vs torch", title_justify="left")
        for col in ("check", "analytic", "torch", "ok"):
            table.add_column(col, justify="right" if col in ("analytic", "torch") else "left")
        table.add_row(
            "shapes", f"{len(shape_checks)} layers", f"{len(shape_checks) - len(bad)} match", "yes" if not bad else "NO"
        )
        for c in bad:
            table.add_row(f"  {c.layer}", str(c.analytic), str(c.torch), "NO")
        for c in checks:
            if c.what != "shape":
                table.add_row(c.what, count(c.analytic), count(c.torch), "yes" if c.ok else "NO")
        console = make_console(sys.stdout)
        console.print(table)
        for c in checks:
            if c.note:
                sys.stderr.write(f"note: {c.what}: {c.note}\n")
        if "capture" in graph.extras:
            sys.stderr.write(f"note: captured by {graph.extras['capture']}\n")
    if not ok:
        raise typer.Exit(1)
