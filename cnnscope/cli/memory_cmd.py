"""`memory`: activation bytes per layer, weight bytes, and a training-step estimate."""

from __future__ import annotations

from typing import Annotated

from cnnscope.analyze.base import analyze
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


@app.command(rich_help_panel="Analyze")
def memory(
    source: SourceArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    dtype: DtypeOpt = "float32",
    optimizer: OptimizerOpt = "adam",
    kwargs: KwargsOpt = None,
    fit_memory: Annotated[
        str | None,
        Option(
            "--fit-memory", help="the largest batch whose predicted peak fits this budget: 24GiB", show_default=False
        ),
    ] = None,
    train: Annotated[
        bool, Option("--train/--inference", help="with --fit-memory: a training step or a forward pass")
    ] = True,
) -> None:
    """Bytes of every layer's output at --batch and --dtype, weight bytes, and training memory for one step."""
    from cnnscope.render import emit
    from cnnscope.render.views.memory import document, fit_document

    check_format(format)
    check_memory_options(dtype, optimizer)
    if fit_memory is not None:
        from cnnscope.whatif.fitmem import fit_memory as run_fit
        from cnnscope.whatif.fitmem import parse_bytes

        limit = parse_bytes(fit_memory)
        emit(fit_document(run_fit(load_graph(source, input, kwargs), limit, dtype, optimizer, train)), format)
        return
    graph = load_graph(source, input, kwargs, batch)
    emit(document(analyze(graph, ["memory"], batch=batch, dtype=dtype, optimizer=optimizer, detail=True)), format)
