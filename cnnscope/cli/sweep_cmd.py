"""`sweep`: cost against input size, per size and as an exact formula."""

from __future__ import annotations

import sys
from typing import Annotated

from cnnscope.cli.app import Option, app
from cnnscope.cli.common import (
    BatchOpt,
    DtypeOpt,
    FormatOpt,
    InputOpt,
    KwargsOpt,
    OptimizerOpt,
    SourceArg,
    check_format,
    check_memory_options,
    load_graph,
)

SizesOpt = Annotated[
    str | None,
    Option(
        "--sizes",
        "-s",
        help="sizes: 128,224,320 | 96..512/32 | 1024x768 (default: half to twice the spec's size)",
        show_default=False,
    ),
]
PlotOpt = Annotated[
    str | None, Option("--plot", help="also draw MACs and memory against size to this PNG", show_default=False)
]


def default_sizes(spatial: tuple[int, ...]) -> str:
    n = min(spatial) if spatial else 1
    step = max(1, n // 4)
    return f"{max(1, n // 2)}..{2 * n}/{step}"


@app.command(rich_help_panel="Analyze")
def sweep(
    source: SourceArg,
    sizes: SizesOpt = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    optimizer: OptimizerOpt = "adam",
    format: FormatOpt = "table",
    plot: PlotOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """Cost against input size: validity, shapes, params, MACs, memory, window fit, RF cover, and the exact formula."""
    check_format(format)
    check_memory_options(dtype, optimizer)
    if plot is not None:
        from cnnscope.render.rf_chart import require_matplotlib

        require_matplotlib()
    graph = load_graph(source, input, kwargs)
    from cnnscope.render import emit
    from cnnscope.render.views.sweep import document
    from cnnscope.whatif.sweep import parse_sizes
    from cnnscope.whatif.sweep import sweep as run_sweep

    spatial = tuple(graph.input_shape[1:])
    todo = parse_sizes(sizes if sizes is not None else default_sizes(spatial), len(spatial))
    report = run_sweep(graph, todo, batch=batch, dtype=dtype, optimizer=optimizer)
    emit(document(report), format)
    if plot is not None:
        from cnnscope.render.sweep_text import save_plot

        save_plot(plot, report.rows, graph.name)
        sys.stderr.write(f"wrote {plot}\n")
