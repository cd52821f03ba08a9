"""`rf`: receptive field per layer and per spatial dim, its growth, and the effective field."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from cnnscope.analyze.base import analyze
from cnnscope.analyze.rf import dim_names
from cnnscope.cli.app import Option, app
from cnnscope.cli.common import FormatOpt, InputOpt, KwargsOpt, SourceArg, check_format, load_graph
from cnnscope.errors import UsageError

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
    erf_result = None
    if erf:
        from cnnscope.profile.erf import effective_rf
        from cnnscope.render.progress import working

        with working(f"measuring the effective receptive field ({draws} random initializations)"):
            erf_result = effective_rf(graph, layer, draws=draws, seed=seed)
        report.meta["erf"] = erf_result.to_json()
    from cnnscope.render import emit
    from cnnscope.render.views.rf import document

    columns = None
    if format == "table":  # the charts fit the terminal (rich knows its width; the json path never loads it)
        from cnnscope.render.layout import terminal_columns

        columns = terminal_columns(sys.stdout)
    emit(document(report, erf_result, columns), format)
    if plot is not None:
        from cnnscope.render.rf_chart import save_plot

        spatial = list(graph.input_shape[1:])
        grid = erf_result.grid if erf_result is not None else None
        save_plot(plot, report.rows, spatial, dim_names(len(spatial)), graph.name, report.meta.get("erf"), grid)
        sys.stderr.write(f"wrote {plot}\n")
