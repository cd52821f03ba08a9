"""The command line: one module per command group, each attaching to ``app``.

Building typer's click commands means introspecting every command's signature, which
costs more than most analyses; so ``main`` imports only the module of the command being
run (``COMMANDS``), and every module only for help or an unknown command. A new command
group is one new file plus its line in ``COMMANDS`` (tests/test_main.py checks the table
against what the modules register).
"""

from __future__ import annotations

from cnnscope.perf import defer_import

defer_import("inspect")  # before anything imports dataclasses (see defer_import)

from importlib import import_module  # noqa: E402

from cnnscope.cli.app import app  # noqa: E402
from cnnscope.modules import names  # noqa: E402

COMMANDS: dict[str, str] = {
    "shapes": "analyze_cmds",
    "params": "analyze_cmds",
    "summary": "analyze_cmds",
    "flops": "flops_cmd",
    "memory": "memory_cmd",
    "sweep": "sweep_cmd",
    "reconcile": "reconcile_cmd",
    "rf": "rf_cmd",
    "shift": "shift_cmd",
    "explain": "explain_cmd",
    "lint": "lint_cmd",
    "fit": "fit_cmd",
    "check": "check_cmd",
    "diff": "diff_cmd",
    "draw": "draw_cmd",
    "export": "module_cmds",
    "verify": "module_cmds",
    "profile": "profile_cmd",
    "run": "profile_cmd",
    "zoo": "zoo_cmd",
    "layers": "layers_cmd",
}

_SKIP = {"app", "common", "fastpath", "helpcache", "main"}  # not command modules


def command_modules() -> list[str]:
    return sorted(n for n in names(__path__) if n not in _SKIP)


def load(command: str | None = None) -> None:
    """Import the module that defines ``command`` (every command module when unknown/None)."""
    names = [COMMANDS[command]] if command in COMMANDS else command_modules()
    for name in names:
        import_module(f"{__name__}.{name}")
    for info in app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = reflow(info.callback.__doc__)


def reflow(doc: str) -> str:
    """A docstring as help: each paragraph on one line, so the terminal (not the source's line
    breaks) decides where it wraps; at 80 columns it wraps cleanly."""
    import inspect

    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


__all__ = ["COMMANDS", "app", "load", "reflow"]
