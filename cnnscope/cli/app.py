"""The typer application object; command modules in this package attach to it."""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.core import TyperGroup


class _Group(TyperGroup):
    """Shell completion ends with ``sys.exit``; the CLI's boundary reads a SystemExit as a model
    that exited, so completion ends with click's own Exit instead (same code, nothing printed)."""

    def _main_shell_completion(self, *args: Any, **kwargs: Any) -> None:
        try:
            super()._main_shell_completion(*args, **kwargs)
        except SystemExit as exc:
            raise click.exceptions.Exit(exc.code if isinstance(exc.code, int) else 0) from None


app = typer.Typer(
    cls=_Group,
    name="cnnscope",
    help="What a convolutional network costs and sees: shapes, parameters, MACs, memory, "
    "receptive fields, real timings, and budgets for CI.",
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    suggest_commands=False,  # click suggests already; both would say it twice
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("cnnscope")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            from cnnscope import __version__ as v
        typer.echo(f"cnnscope {v}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", help="Print the version and exit.", is_eager=True, callback=_version
    ),
) -> None:
    """What a convolutional network costs and sees: shapes, parameters, MACs, memory,
    receptive fields, real timings, and budgets for CI."""
