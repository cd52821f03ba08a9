"""`shapes`, `params`, `summary`: the analytic tables."""

from __future__ import annotations

from cnnscope.cli.app import app
from cnnscope.cli.common import (
    BatchOpt,
    DtypeOpt,
    FormatOpt,
    InputOpt,
    KwargsOpt,
    OptimizerOpt,
    SourceArg,
    check_memory_options,
    report_command,
    run_report,
)

shapes = report_command(__name__, "shapes", ["shapes"], "Output shape of every layer (batch included).")
params = report_command(__name__, "params", ["params"], "Parameters per layer, trainable and frozen; buffers apart.")


@app.command(rich_help_panel="Analyze")
def summary(
    source: SourceArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    dtype: DtypeOpt = "float32",
    optimizer: OptimizerOpt = "adam",
    kwargs: KwargsOpt = None,
) -> None:
    """Every analytic column at once: shapes, params, MACs, memory, receptive field."""
    check_memory_options(dtype, optimizer)
    run_report(source, None, input, batch, format, kwargs=kwargs, dtype=dtype, optimizer=optimizer)
