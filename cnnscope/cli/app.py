"""The typer application object; command modules in this package attach to it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cnnscope",
    help="What a convolutional network costs and sees: shapes, parameters, MACs, memory, "
    "receptive fields, real timings, and budgets for CI.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
