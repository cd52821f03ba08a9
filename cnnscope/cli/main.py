"""The single error boundary: user errors -> one diagnostic + exit 2, never a traceback.

Exit codes: 0 ok, 1 a budget or check violated, 2 bad input or usage, 3 an internal error
(set CNNSCOPE_TRACEBACK=1 to see its traceback), 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from cnnscope.errors import CnnscopeError

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def main(argv: Sequence[str] | None = None) -> int:
    from cnnscope.cli import app, load

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        load(args[0] if args else None)
        rv = app(args=args, prog_name="cnnscope", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError:  # typer has printed the help already
        return EXIT_OK
    except click.ClickException as exc:
        exc.show(sys.stderr)
        return EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except CnnscopeError as exc:
        sys.stderr.write(exc.render() + "\n")
        return exc.exit_code
    except BrokenPipeError:  # `cnnscope ... | head`
        _silence_stdout()
        return EXIT_OK
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            return _internal(exc)
        package, what = extra
        sys.stderr.write(
            f"error[missing-extra]: this command needs {exc.name}, which is not installed\n"
            f"  help: {what}: pip install 'cnnscope[{package}]'"
            + (" (CPU build: pip install torch==2.13.0 first)" if package == "torch" else "")
            + "\n"
        )
        return EXIT_USAGE
    except RecursionError:
        sys.stderr.write("error[too-deep]: the model nests too deeply to analyze\n")
        return EXIT_USAGE
    except MemoryError:
        sys.stderr.write("error[too-large]: the model is too large to analyze in memory\n")
        return EXIT_USAGE
    except Exception as exc:  # the boundary: one line, not a traceback
        return _internal(exc)
    return int(rv) if isinstance(rv, int) else EXIT_OK


# optional dependencies: import name -> (extra, what needs it)
_EXTRAS = {
    "torch": ("torch", "module sources, verify, profile and --erf run real torch modules"),
    "torchvision": ("torchvision", "torchvision: sources need torchvision"),
    "timm": ("timm", "timm: sources need timm"),
    "fvcore": ("test", "this needs fvcore"),
    "matplotlib": ("plot", "PNG plots need matplotlib"),
}


def _internal(exc: Exception) -> int:
    if os.environ.get("CNNSCOPE_TRACEBACK"):
        raise exc
    msg = str(exc).splitlines()[0] if str(exc) else ""
    sys.stderr.write(
        f"internal error: {type(exc).__name__}: {msg}\n"
        "  this is a bug in cnnscope; run again with CNNSCOPE_TRACEBACK=1 to see the traceback\n"
    )
    return EXIT_INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
