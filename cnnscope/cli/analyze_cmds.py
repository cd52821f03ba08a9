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
    run_report,
)


@app.command(rich_help_panel="Analyze")
def shapes(
    source: SourceArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    kwargs: KwargsOpt = None,
) -> None:
    """Output shape of every layer (batch included)."""
    run_report(source, ["shapes"], input, batch, format, kwargs=kwargs)


@app.command(rich_help_panel="Analyze")
def params(
    source: SourceArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    kwargs: KwargsOpt = None,
) -> None:
    """Parameters per layer, trainable and frozen; buffers apart."""
    run_report(source, ["params"], input, batch, format, kwargs=kwargs)


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
