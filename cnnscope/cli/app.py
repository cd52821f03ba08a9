"""The application object: command modules register here; typer is built from them on demand.

A command module declares each parameter once, in typer's own words, with this module's
:func:`Option` and :func:`Argument` in ``Annotated`` hints (they take what ``typer.Option`` /
``typer.Argument`` take there, and record it without importing typer), and registers with
``@app.command(...)``. Two readers use those declarations:

- :meth:`App.typer` builds the typer application, each record replayed as ``typer.Option`` /
  ``typer.Argument``: for help, completion, usage errors and whatever the fast path declines;
- :meth:`App.fast` (cnnscope/cli/fastpath.py) reads the everyday command line from the same
  declarations and calls the command without importing typer or click, which are most of an
  analytic command's start-up time.

Command bodies must not need click's context (a command that does declares a
``typer.Context`` parameter, which the fast path declines).
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Param:
    """A typer parameter, recorded: ``typer.Option(*decls, **kwargs)`` or
    ``typer.Argument(**kwargs)`` once typer is built."""

    __slots__ = ("_built", "decls", "kind", "kwargs")

    def __init__(self, kind: str, decls: tuple[str, ...], kwargs: dict[str, Any]) -> None:
        self.kind, self.decls, self.kwargs = kind, decls, kwargs
        self._built: Any = None

    def to_typer(self) -> Any:
        if self._built is None:
            import typer

            make: Any = typer.Option if self.kind == "option" else typer.Argument
            self._built = make(*self.decls, **self.kwargs)
        return self._built

    def __repr__(self) -> str:
        return f"{self.kind.title()}(*{self.decls!r}, **{self.kwargs!r})"


def Option(*param_decls: str, **kwargs: Any) -> Any:
    """``typer.Option`` as ``Annotated`` metadata (option names, then keyword settings)."""
    return Param("option", param_decls, kwargs)


def Argument(**kwargs: Any) -> Any:
    """``typer.Argument`` as ``Annotated`` metadata (keyword settings only)."""
    return Param("argument", (), kwargs)


class Exit(Exception):
    """End the command with ``code``, as ``typer.Exit`` does (the CLI returns it)."""

    def __init__(self, code: int = 0) -> None:
        super().__init__(code)
        self.exit_code = code


class Abort(Exception):
    """The input ended (EOF at a prompt); the CLI says `interrupted`, as with typer's Abort."""


class CommandInfo:
    """One registered command (the attributes typer's CommandInfo has that cnnscope reads)."""

    __slots__ = ("callback", "help", "kwargs", "name")

    def __init__(self, name: str | None, callback: Callable[..., Any], help: str | None, kwargs: dict[str, Any]):
        self.name, self.callback, self.help, self.kwargs = name, callback, help, kwargs

    @property
    def command_name(self) -> str:
        return self.name or self.callback.__name__.lower().replace("_", "-")  # typer's get_command_name


class App:
    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self.registered_commands: list[CommandInfo] = []
        self.root: Callable[..., Any] | None = None
        self._typer: Any = None
        self._added = 0

    def command(self, name: str | None = None, *, help: str | None = None, **kwargs: Any) -> Callable[[F], F]:
        def deco(fn: F) -> F:
            self.registered_commands.append(CommandInfo(name, fn, help, kwargs))
            return fn

        return deco

    def callback(self) -> Callable[[F], F]:
        def deco(fn: F) -> F:
            self.root = fn
            return fn

        return deco

    def typer(self) -> Any:
        """The typer application, with every command registered so far."""
        if self._typer is None:
            self._typer = _build(self)
        for info in self.registered_commands[self._added :]:
            self._typer.command(info.name, help=info.help, **info.kwargs)(_for_typer(info.callback))
        self._added = len(self.registered_commands)
        return self._typer

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.typer()(*args, **kwargs)

    def fast(self, args: Sequence[str]) -> tuple[Any] | None:
        """Run ``args`` without typer when the fast path reads them (cnnscope/cli/fastpath.py):
        ``(the command's return value,)``; ``None`` when typer must."""
        from cnnscope.cli.fastpath import run

        return run(self, args)


# -- typer -------------------------------------------------------------------------------


def _for_typer(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its hints evaluated and each :class:`Param` replaced by typer's own object
    (a copy: same code, globals and defaults)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    if any(isinstance(d, Param) for d in (*(fn.__defaults__ or ()), *(fn.__kwdefaults__ or {}).values())):
        raise TypeError(f"{fn.__qualname__}: Option() and Argument() go in Annotated[...], not in defaults")
    for key, hint in hints.items():
        if typing.get_origin(hint) is Annotated:
            base, *meta = typing.get_args(hint)
            hints[key] = Annotated[tuple([base, *(m.to_typer() if isinstance(m, Param) else m for m in meta)])]
    f: Any = fn
    copy: Any = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    copy.__kwdefaults__ = f.__kwdefaults__
    copy.__dict__.update(f.__dict__)
    copy.__annotations__ = hints
    copy.__doc__, copy.__module__, copy.__qualname__ = f.__doc__, f.__module__, f.__qualname__
    return typing.cast(Callable[..., Any], copy)


def _build(app: App) -> Any:
    import click
    import typer
    from typer.core import TyperGroup

    class _Group(TyperGroup):
        """Shell completion ends with ``sys.exit``; the CLI's boundary reads a SystemExit as a
        model that exited, so completion ends with click's own Exit instead (same code, nothing
        printed)."""

        def _main_shell_completion(self, *args: Any, **kwargs: Any) -> None:
            try:
                super()._main_shell_completion(*args, **kwargs)
            except SystemExit as exc:
                raise click.exceptions.Exit(exc.code if isinstance(exc.code, int) else 0) from None

    t = typer.Typer(cls=_Group, **app.settings)
    if app.root is not None:
        t.callback()(_for_typer(app.root))
    return t


app = App(
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
        from cnnscope import __version__  # the installed metadata's version (tests/test_fastpath.py)

        sys.stdout.write(f"cnnscope {__version__}\n")
        sys.stdout.flush()
        raise Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, Option("--version", "-V", help="Print the version and exit.", is_eager=True, callback=_version)
    ] = False,
) -> None:
    """What a convolutional network costs and sees: shapes, parameters, MACs, memory,
    receptive fields, real timings, and budgets for CI."""
