"""`explain`: every layer's formulas with the numbers filled in."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cnnscope.cli.app import app
from cnnscope.cli.common import BatchOpt, FormatOpt, InputOpt, KwargsOpt, SourceArg, check_choice, load_graph

EXPLAIN_FORMATS = ("table", "json", "csv", "markdown")
WHY_WIDTH = 72  # the formula column wraps the reasons at this width


def _md(text: str) -> str:
    return text.replace("|", "\\|")


@app.command(rich_help_panel="Learn")
def explain(
    source: SourceArg,
    layer: Annotated[
        str | None, typer.Option("--layer", "-l", help="explain only this layer", show_default=False)
    ] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    why: Annotated[bool, typer.Option("--why/--no-why", help="a short reason under each step")] = True,
    kwargs: KwargsOpt = None,
) -> None:
    """Each layer's formulas with the numbers filled in: output size, parameters, MACs,
    receptive field, and what weight sharing saves over a fully connected layer."""
    check_choice("--format", format, EXPLAIN_FORMATS)
    from cnnscope.explain import explain as run

    graph = load_graph(source, input, kwargs)
    items = run(graph, batch, layer)
    if format == "json":
        doc = {
            "schema_version": 1,
            "model": graph.name,
            "source": graph.source,
            "input_shape": [batch, *graph.input_shape],
            "layers": [e.to_json() for e in items],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    if format == "csv":
        import csv

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["layer", "type", "what", "formula", "result", "why"])
        for e in items:
            for s in e.steps:
                w.writerow([e.name, e.type, s.what, s.formula, s.result, e.why.get(s.what, "")])
        return
    if format == "markdown":
        lines = [f"### {graph.name}", ""]
        for e in items:
            shapes = ", ".join("×".join(map(str, s)) for s in e.inputs)
            lines += [
                f"#### `{e.name}` ({e.type}): {shapes} → {'×'.join(map(str, e.output))}",
                "",
                "| what | formula | result | why |",
                "|---|---|---:|---|",
            ]
            lines += [f"| {s.what} | {_md(s.formula)} | {s.result} | {_md(e.why.get(s.what, ''))} |" for s in e.steps]
            lines.append("")
        sys.stdout.write("\n".join(lines))
        return
    from rich.table import Table
    from rich.text import Text

    from cnnscope.render.table import console

    con = console(sys.stdout)
    for e in items:
        shapes = ", ".join("×".join(map(str, s)) for s in e.inputs)
        title = f"{e.name} ({e.type})  {shapes} → {'×'.join(map(str, e.output))}"
        t = Table(
            title=title,
            title_justify="left",
            caption=str(e.loc) if e.loc else None,
            caption_justify="left",
            show_header=False,
            box=None,
            padding=(0, 2),
        )
        t.add_column("what", style="bold")
        t.add_column("formula", max_width=WHY_WIDTH, overflow="fold")
        t.add_column("=", justify="right")
        said: set[str] = set()
        for s in e.steps:
            t.add_row(Text(s.what), Text(s.formula), Text(s.result))
            reason = e.why.get(s.what) if why else None
            if reason and reason not in said:  # output H and W share one reason: say it once
                said.add(reason)
                t.add_row(Text(""), Text("↳ " + reason, style="dim"), Text(""))
        con.print(t)
        con.print()
