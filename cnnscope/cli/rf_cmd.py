"""`rf`: receptive field per layer and per spatial dim, its growth, and the effective field."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

from cnnscope.analyze.base import Column, Report, analyze
from cnnscope.analyze.rf import dim_names
from cnnscope.cli.app import Option, app
from cnnscope.cli.common import FormatOpt, InputOpt, KwargsOpt, SourceArg, check_format, load_graph
from cnnscope.errors import UsageError
from cnnscope.render import render
from cnnscope.render.units import RF_WORDS

PlotOpt = Annotated[
    Path | None,
    Option(
        "--plot", help="also draw the growth (and --erf map) to this PNG; needs the `plot` extra", show_default=False
    ),
]
ErfOpt = Annotated[bool, Option("--erf", help="measure the empirical effective receptive field (imports torch)")]
LayerOpt = Annotated[
    str | None,
    Option("--layer", help="layer for --erf (default: the last one with spatial positions)", show_default=False),
]
DrawsOpt = Annotated[int, Option("--draws", help="random initializations averaged for --erf")]
SeedOpt = Annotated[int, Option("--seed", help="random seed for --erf")]


@app.command("rf", rich_help_panel="Analyze")
def rf(
    source: SourceArg,
    input: InputOpt = None,
    format: FormatOpt = "table",
    plot: PlotOpt = None,
    erf: ErfOpt = False,
    layer: LayerOpt = None,
    draws: DrawsOpt = 4,
    seed: SeedOpt = 0,
    kwargs: KwargsOpt = None,
) -> None:
    """Receptive field of every layer: size, effective stride and padding per spatial dim."""
    check_format(format)
    if plot is not None:
        from cnnscope.render.rf_chart import require_matplotlib

        require_matplotlib()  # fail before any work when the extra is missing
    if layer is not None and not erf:
        raise UsageError("bad-option", "--layer only applies with --erf")
    graph = load_graph(source, input, kwargs)
    report = analyze(graph, ["rf"])
    spatial = list(graph.input_shape[1:])
    dims = dim_names(len(spatial))
    erf_result = None
    if erf:
        from cnnscope.profile.erf import effective_rf
        from cnnscope.render.progress import working

        with working(f"measuring the effective receptive field ({draws} random initializations)"):
            erf_result = effective_rf(graph, layer, draws=draws, seed=seed)
        report.meta["erf"] = erf_result.to_json()
    if format == "json":
        render(report, "json", sys.stdout, sys.stderr)
    else:
        _render_display(report, format, dims, spatial)
        if format == "table":
            _print_extras(report, spatial, erf_result)
        elif erf_result is not None:
            from cnnscope.render.rf_chart import erf_markdown

            sys.stdout.write(
                "\n" + json.dumps({"erf": erf_result.to_json()}) + "\n"
                if format == "csv"
                else "\n" + erf_markdown(erf_result.to_json())
            )
    if plot is not None:
        from cnnscope.render.rf_chart import save_plot

        save_plot(
            plot,
            report.rows,
            spatial,
            dims,
            graph.name,
            report.meta.get("erf"),
            erf_result.grid if erf_result is not None else None,
        )
        sys.stderr.write(f"wrote {plot}\n")


def _render_display(report: Report, fmt: str, dims: list[str], spatial: list[int]) -> None:
    """The table / csv / markdown view: one column per quantity, its dims side by side."""
    label = "×".join(dims) if dims else ""
    rows = []
    for row in report.rows:
        rf = row["rf"]
        shown: dict[str, Any]
        if rf["status"] == "ok":
            cov = rf["coverage"]
            shown = {
                "size": rf["size"],
                "stride": rf["stride"],
                "padding": rf["padding"],
                "coverage": min(cov) if cov else None,
            }
        elif rf["status"] == "whole_input":
            shown = {"size": RF_WORDS["whole_input"], "stride": None, "padding": None, "coverage": 1.0}
        else:
            shown = {"size": RF_WORDS["unsupported"], "stride": None, "padding": None, "coverage": None}
        rows.append({**row, **{f"rf_{k}": v for k, v in shown.items()}})
    cols = [
        Column("name", "layer", "text", total=False),
        Column("type", "type", "text", total=False),
        Column("output_shape", "output shape", "shape", total=False),
        Column("rf_size", f"RF {label}".strip(), "dims", total=False),
        Column("rf_stride", f"stride {label}".strip(), "dims", total=False),
        Column("rf_padding", f"padding {label}".strip(), "dims", total=False),
        Column("rf_coverage", "sees of input", "percent", total=False),
    ]
    disp = Report(
        report.model,
        report.source,
        report.input_shape,
        report.batch,
        rows,
        cols,
        {},
        report.warnings,
        list(report.notes),
    )
    reached = report.totals.get("rf_reaches_input_at")
    size = "×".join(map(str, spatial))
    disp.notes.append(
        f"the receptive field first covers the whole {size} input at `{reached}`"
        if reached
        else f"no layer's receptive field covers the whole {size} input"
    )
    render(disp, fmt, sys.stdout, sys.stderr, f"{report.model}: receptive field")


def _print_extras(report: Report, spatial: list[int], erf: Any) -> None:
    from rich.text import Text

    from cnnscope.render.layout import console, terminal_columns
    from cnnscope.render.rf_chart import erf_heatmap, erf_summary, growth_chart

    con = console(sys.stdout)
    columns = terminal_columns(sys.stdout)
    con.print()
    con.print(growth_chart(report.rows, spatial, columns=columns))
    if erf is not None:
        lines = erf_summary(erf.to_json())
        con.print(Text(lines[0], style="bold"))
        for line in lines[1:]:
            con.print(Text(line))
        con.print(erf_heatmap(erf.grid, max_cols=min(64, (columns or 80) - 2)))
