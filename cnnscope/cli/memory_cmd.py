"""`memory`: activation bytes per layer, weight bytes, and a training-step estimate."""

from __future__ import annotations

import sys

from cnnscope.analyze.base import analyze
from cnnscope.analyze.memory import training_breakdown
from cnnscope.cli.app import app
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
from cnnscope.errors import UsageError
from cnnscope.render import render
from cnnscope.render.units import fmt


@app.command(rich_help_panel="Analyze")
def memory(
    source: SourceArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    dtype: DtypeOpt = "float32",
    optimizer: OptimizerOpt = "adam",
    kwargs: KwargsOpt = None,
) -> None:
    """Bytes of every layer's output at --batch and --dtype, weight bytes, and training memory for one step."""
    check_format(format)
    check_memory_options(dtype, optimizer)
    if batch < 1:
        raise UsageError("bad-option", f"--batch must be a positive integer, got {batch}")
    graph = load_graph(source, input, kwargs)
    report = analyze(graph, ["memory"], batch=batch, dtype=dtype, optimizer=optimizer, detail=True)
    render(report, format, sys.stdout, sys.stderr)
    lines = [(label, fmt(value, "bytes")) for label, value in training_breakdown(report)]
    if format == "table":
        width = max(len(label) for label, _ in lines)
        sys.stdout.write(f"\ntraining memory, one step ({optimizer}, {dtype}, batch {batch}):\n")
        for label, value in lines:
            sys.stdout.write(f"  {label:<{width}}  {value:>12}\n")
    elif format == "markdown":
        sys.stdout.write(f"\n**Training memory, one step** ({optimizer}, {dtype}, batch {batch})\n\n")
        sys.stdout.write("| part | bytes |\n|---|---:|\n")
        for label, value in lines:
            sys.stdout.write(f"| {label} | {value} |\n")
