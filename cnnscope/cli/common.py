"""Options and helpers shared by the commands (argument parsing stays in cli/)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from cnnscope.analyze.base import Report, analyze
from cnnscope.errors import UsageError, did_you_mean
from cnnscope.graph import Graph
from cnnscope.render import FORMATS, render

SourceArg = Annotated[
    str,
    typer.Argument(
        help="a YAML spec file, a built-in spec name (resnet18), or a module (pkg.mod:Net, file.py:Net)",
        show_default=False,
    ),
]
InputOpt = Annotated[
    str | None,
    typer.Option("--input", "-i", help="input shape without batch, channels first: 3,224,224", show_default=False),
]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", help="batch size")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table | json | csv | markdown")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="float32 | float16 | bfloat16 (memory figures)")]
OptimizerOpt = Annotated[str, typer.Option("--optimizer", help="sgd | sgd-momentum | adam (training memory)")]
KwargsOpt = Annotated[
    str | None,
    typer.Option("--kwargs", help="JSON object of arguments for a module class or factory", show_default=False),
]


def parse_input(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.replace("x", ",").replace("×", ",").split(",") if p.strip()]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims) or len(dims) > 4:
        raise UsageError(
            "bad-input-shape",
            f"--input must be 1 to 4 positive integers, channels first, got `{text}`",
            hint="e.g. --input 3,224,224 (no batch; use --batch for that)",
        )
    return dims


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(
            "bad-option", f"{option} must be one of {', '.join(choices)}, got `{value}`{did_you_mean(value, choices)}"
        )
    return value


def check_memory_options(dtype: str, optimizer: str) -> None:
    """--dtype and --optimizer against the memory analyzer's own tables (one list, not three)."""
    from cnnscope.analyze.memory import DTYPE_BYTES, OPTIMIZER_STATES

    check_choice("--dtype", dtype, tuple(DTYPE_BYTES))
    check_choice("--optimizer", optimizer, tuple(OPTIMIZER_STATES))


def check_format(value: str, extra: tuple[str, ...] = ()) -> str:
    return check_choice("--format", value, FORMATS + extra)


def load_graph(source: str, input_text: str | None = None, kwargs: str | None = None) -> Graph:
    from cnnscope.spec.sources import load

    opts: dict[str, Any] = {}
    if kwargs is not None:
        opts["kwargs"] = kwargs
    return load(source, parse_input(input_text), **opts)


def run_report(
    source: str,
    analyzers: list[str] | None,
    input_text: str | None,
    batch: int,
    fmt: str,
    title: str | None = None,
    kwargs: str | None = None,
    **options: Any,
) -> Report:
    check_format(fmt)
    if batch < 1:
        raise UsageError("bad-option", f"--batch must be a positive integer, got {batch}")
    graph = load_graph(source, input_text, kwargs)
    report = analyze(graph, analyzers, batch=batch, **options)
    render(report, fmt, sys.stdout, sys.stderr, title)
    return report
