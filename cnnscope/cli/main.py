"""The single error boundary: user errors -> one diagnostic + exit 2, never a traceback.

Exit codes: 0 ok (also when stdout is a pipe closed early: ``cnnscope ... | head``), 1 a
budget or check violated, 2 bad input or usage, 3 an internal error (set
CNNSCOPE_TRACEBACK=1 to see its traceback), 130 interrupted (Ctrl-C).

User code (a module source, its factory, its forward) never decides cnnscope's exit code:
a ``SystemExit`` that escapes it is exit 2 here; a ``KeyboardInterrupt`` it raises is turned
into the source's failure where that code runs (Ctrl-C is told apart there: the SIGINT
handler installed here raises :class:`~cnnscope.errors.Interrupted`).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    with _sigint():
        try:
            return _main(args)
        except KeyboardInterrupt as exc:  # Ctrl-C before or after the command proper
            return _interrupted(exc)


def _main(args: list[str]) -> int:
    import click

    from cnnscope.errors import CnnscopeError, clip

    try:
        _refuse_non_finite(args)
        from cnnscope.cli import app, load

        load(args[0] if args else None)
        rv = app(args=args, prog_name="cnnscope", standalone_mode=False)
    except click.exceptions.Exit as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # typer's Exit(130) for a KeyboardInterrupt
            return _interrupted(exc.__cause__)
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError:  # typer has printed the help already
        return EXIT_OK
    except click.ClickException as exc:
        buf = io.StringIO()
        exc.show(buf)
        sys.stderr.write("\n".join(clip(line) for line in buf.getvalue().splitlines()) + "\n")
        return EXIT_USAGE
    except click.exceptions.Abort as exc:  # click turns a KeyboardInterrupt into Abort
        return _interrupted(exc.__context__ if isinstance(exc.__context__, BaseException) else exc)
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except CnnscopeError as exc:
        sys.stderr.write(exc.render() + "\n")
        return exc.exit_code
    except BrokenPipeError:  # `cnnscope ... | head`
        _silence_stdout()
        return EXIT_OK
    except SystemExit as exc:
        if isinstance(exc.__context__, BrokenPipeError):  # rich's console exits 1 on a closed pipe
            _silence_stdout()
            return EXIT_OK
        sys.stderr.write(
            f"error[source-exited]: the model's code called sys.exit({clip(repr(exc.code), 200)})\n"
            "  help: cnnscope's exit code is its own: a module source must not exit while it is imported, "
            "built or run\n"
        )
        return EXIT_USAGE
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
        sys.stderr.write("error[too-deep]: the model nests too deeply to analyze\n" + _source_line(args))
        return EXIT_USAGE
    except MemoryError:
        sys.stderr.write("error[too-large]: the model is too large to analyze in memory\n" + _source_line(args))
        return EXIT_USAGE
    except Exception as exc:  # the boundary: one line, not a traceback
        return _internal(exc)
    if rv == EXIT_INTERRUPTED and not isinstance(rv, bool):  # typer returns 130 for a KeyboardInterrupt, silently
        return _interrupted(KeyboardInterrupt(), quiet=args[:1] in (["profile"], ["run"]))
    return int(rv) if isinstance(rv, int) else EXIT_OK


_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_TEXT_OPTIONS = {"--against", "--kwargs", "--title", "--name"}  # values that are text, not numbers


def _refuse_non_finite(args: list[str]) -> None:
    """No option takes NaN or infinity (`--min-time nan`, `--peak-tflops inf`): JSON output is
    strict, and a comparison with NaN is never true."""
    from cnnscope.errors import UsageError

    for k, a in enumerate(args):
        opt, eq, value = a.partition("=")
        if not eq:
            if k == 0 or not args[k - 1].startswith("-") or "=" in args[k - 1]:
                continue
            opt, value = args[k - 1], a
        if opt.startswith("-") and opt not in _TEXT_OPTIONS and value.strip().lower() in _NON_FINITE:
            raise UsageError("bad-option", f"{opt} must be a finite number, got `{value}`")


def _source_line(args: list[str]) -> str:
    """``  --> FILE`` for the first argument that is a file (the model), for errors that
    carry no location of their own."""
    for a in args[1:]:
        if a.startswith("-"):
            continue
        path = a.rsplit(":", 1)[0] if a.count(":") == 1 and not os.path.isfile(a) else a
        try:
            if os.path.isfile(path):
                return f"  --> {path}\n"
        except (OSError, ValueError):
            continue
    return ""


def _interrupted(exc: BaseException, quiet: bool = False) -> int:
    """Exit 130 and ``interrupted`` (``profile`` says so itself, with what it measured).

    A KeyboardInterrupt that a model's code raises without Ctrl-C is caught where that code
    runs (import, factory, forward) and reported as the source's failure; one that gets
    here is taken for Ctrl-C."""
    if not quiet:
        sys.stderr.write("interrupted\n")
    return EXIT_INTERRUPTED


@contextmanager
def _sigint() -> Iterator[None]:
    """Ctrl-C raises :class:`Interrupted` while a command runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from cnnscope.errors import Interrupted

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):  # pragma: no cover - not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _tolerant_streams() -> None:
    """A stdout or stderr that cannot encode a character (PYTHONIOENCODING=ascii, a latin-1
    terminal) writes a replacement for it instead of raising UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if reconfigure is None or encoding in ("utf8", "utf_8"):
            continue
        with contextlib.suppress(ValueError, OSError, TypeError, io.UnsupportedOperation):
            reconfigure(errors="backslashreplace")


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
    from cnnscope.errors import clip

    msg = str(exc).splitlines()[0] if str(exc) else ""
    sys.stderr.write(
        f"internal error: {type(exc).__name__}: {clip(msg, 300)}\n"
        "  this is a bug in cnnscope; run again with CNNSCOPE_TRACEBACK=1 to see the traceback\n"
    )
    return EXIT_INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def entry() -> None:
    """Console-script entry point: a closed stdout at exit is a quiet 0 too."""
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError):
        pass
    sys.exit(code)
