"""`memory`: activation bytes per layer, weight bytes, and a training-step estimate."""

from __future__ import annotations

import sys
from typing import Annotated

from cnnscope.analyze.base import analyze
from cnnscope.analyze.memory import training_breakdown
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
    check_format(format)
    check_memory_options(dtype, optimizer)
    if fit_memory is not None:
        from cnnscope.whatif.fitmem import parse_bytes

        limit = parse_bytes(fit_memory)
        graph = load_graph(source, input, kwargs)
        _fit(graph, limit, dtype, optimizer, train, format)
        return
    graph = load_graph(source, input, kwargs, batch)
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


def _fit(graph: object, limit: int, dtype: str, optimizer: str, train: bool, format: str) -> None:
    from cnnscope.whatif.fitmem import BREAKDOWN, fit_memory

    res = fit_memory(graph, limit, dtype, optimizer, train)  # type: ignore[arg-type]
    if format == "json":
        from cnnscope.render.formats.json import dumps

        sys.stdout.write(dumps(res.to_json()))
        return
    at = res.at_max or {}
    lines = [(label, at.get(key)) for label, key in BREAKDOWN if key in at]
    if not train:  # the peak of a forward pass: what is alive at once, not what backward keeps
        lines = [("activations alive at peak" if k == "activations kept" else k, v) for k, v in lines]
    if format == "csv":
        sys.stdout.write("part,bytes\n" + "".join(f"{label},{v}\n" for label, v in lines))
        sys.stdout.write(f"max_batch,{res.max_batch}\n")
        return
    mode = f"training step ({optimizer}, {dtype})" if train else f"inference ({dtype})"
    head = f"largest batch that fits {fmt(limit, 'bytes')} ({limit:,} B), {mode}: {res.max_batch}"
    nxt = f"batch {res.max_batch + 1} would need {fmt(res.next_bytes, 'bytes')} ({res.next_bytes:,} B)"
    if format == "markdown":
        sys.stdout.write(f"**{head}** ({nxt})\n\n| part | bytes |\n|---|---:|\n")
        sys.stdout.write("".join(f"| {label} | {fmt(v, 'bytes')} |\n" for label, v in lines))
        sys.stdout.write("\n" + "".join(f"> {n}\n" for n in res.notes))
        return
    sys.stdout.write(f"{graph.name}: {head}\n  {nxt}\n")  # type: ignore[attr-defined]
    if lines:
        width = max(len(label) for label, _ in lines)
        sys.stdout.write(f"at batch {res.max_batch}:\n")
        for label, v in lines:
            sys.stdout.write(f"  {label:<{width}}  {fmt(v, 'bytes'):>12}  ({v:,} B)\n")
    for n in res.notes:
        sys.stdout.write(f"note: {n}\n")
