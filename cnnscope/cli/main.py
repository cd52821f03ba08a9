"""The single error boundary: user errors -> one diagnostic + exit 2, never a traceback.

Exit codes: 0 ok (also when stdout is a pipe closed early: ``cnnscope ... | head``), 1 a
budget or check violated, 2 bad input or usage, 3 an internal error (set
CNNSCOPE_TRACEBACK=1 to see its traceback), 130 interrupted (Ctrl-C).

User code (a module source, its factory, its forward) never decides cnnscope's exit code:
a ``SystemExit`` that escapes it is exit 2 here; a ``KeyboardInterrupt`` it raises is turned
into the source's failure where that code runs (Ctrl-C is told apart there: the SIGINT
handler installed here raises :class:`~cnnscope.errors.Interrupted`).

This one job, the process's boundary (every way a run ends, the streams, the signals, the
collector and the exit), is why the module is a little over the house's 300 lines.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module
from typing import Any

try:  # the signal module wraps this C module's values in enums, which take a millisecond to make
    signal: Any = import_module("_signal")
except ImportError:  # pragma: no cover - another Python implementation
    signal = import_module("signal")

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
    try:
        rv = _run(args)
    except BaseException as exc:  # the boundary (what is not the CLI's to handle is raised again)
        return _failed(exc, args)
    if rv == EXIT_INTERRUPTED and not isinstance(rv, bool):  # typer returns 130 for a KeyboardInterrupt, silently
        return _interrupted(KeyboardInterrupt(), quiet=args[:1] in (["profile"], ["run"]))
    return int(rv) if isinstance(rv, int) else EXIT_OK


def _run(args: list[str]) -> Any:
    """The command's return value: from the fast path (cli/app.py) when it reads ``args``,
    which imports neither typer nor click; from typer otherwise."""
    _refuse_non_finite(args)
    from cnnscope.cli.app import app

    if len(args) <= 2 and (not args or args[-1] in ("--help", "-h")):
        from cnnscope.cli import helpcache

        if helpcache.is_help(args):
            replayed = helpcache.replay(args)
            return replayed if replayed is not None else helpcache.record(args, lambda: _typer(args))
    fast = app.fast(args)
    if fast is not None:
        return fast[0]
    return _typer(args)


def _typer(args: list[str]) -> Any:
    from cnnscope.cli import load
    from cnnscope.cli.app import app

    load(args[0] if args else None)
    return app(args=args, prog_name="cnnscope", standalone_mode=False)


# Modules whose work makes reference cycles for the collector to free: torch's tracing and
# profiling, matplotlib's figures (and what imports torch: torchvision, timm, a model's code).
_CYCLIC = frozenset({"torch", "torchvision", "timm", "matplotlib"})


class _CollectorBack:
    """An import hook of the CLI's process (``entry``): the cyclic garbage collector is off for
    an analytic command, which makes no reference cycles, and comes back on (as it was) when a
    module of ``_CYCLIC`` is first imported; it then leaves alone what was made so far, which
    lives as long as the process (``gc.freeze``)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in _CYCLIC:
            _collector_on()
        return None  # the import itself proceeds as ever


_HOOK: list[_CollectorBack] = []


def _collector_on() -> None:
    while _HOOK:
        hook = _HOOK.pop()
        if hook in sys.meta_path:
            sys.meta_path.remove(hook)
        gc.freeze()
        gc.enable()


def _failed(exc: BaseException, args: list[str]) -> int:
    """One diagnostic and an exit code for what a command raised."""
    from cnnscope.errors import CnnscopeError, clip

    click: Any = sys.modules.get("click")  # click's exceptions come only from an imported click
    if click is not None:
        if isinstance(exc, click.exceptions.Exit):
            if isinstance(exc.__cause__, KeyboardInterrupt):  # typer's Exit(130) for a KeyboardInterrupt
                return _interrupted(exc.__cause__)
            return int(exc.exit_code)
        if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # typer has printed the help already
            return EXIT_OK
        if isinstance(exc, click.ClickException):
            buf = io.StringIO()
            exc.show(buf)
            sys.stderr.write("\n".join(clip(line) for line in buf.getvalue().splitlines()) + "\n")
            return EXIT_USAGE
        if isinstance(exc, click.exceptions.Abort):  # click turns a KeyboardInterrupt into Abort
            return _interrupted(exc.__context__ if isinstance(exc.__context__, BaseException) else exc)
    app_module: Any = sys.modules.get("cnnscope.cli.app")
    if app_module is not None:
        if isinstance(exc, app_module.Exit):
            return int(exc.exit_code)
        if isinstance(exc, app_module.Abort):
            return _interrupted(exc.__context__ if isinstance(exc.__context__, BaseException) else exc)
    if isinstance(exc, KeyboardInterrupt):
        return _interrupted(exc)
    if isinstance(exc, CnnscopeError):
        sys.stderr.write(exc.render() + "\n")
        return exc.exit_code
    if isinstance(exc, BrokenPipeError):  # `cnnscope ... | head`
        _silence_stdout()
        return EXIT_OK
    if isinstance(exc, SystemExit):
        if isinstance(exc.__context__, BrokenPipeError):  # rich's console exits 1 on a closed pipe
            _silence_stdout()
            return EXIT_OK
        sys.stderr.write(
            f"error[source-exited]: the model's code called sys.exit({clip(repr(exc.code), 200)})\n"
            "  help: cnnscope's exit code is its own: a module source must not exit while it is imported, "
            "built or run\n"
        )
        return EXIT_USAGE
    if isinstance(exc, ModuleNotFoundError):
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
    if isinstance(exc, RecursionError):
        sys.stderr.write("error[too-deep]: the model nests too deeply to analyze\n" + _source_line(args))
        return EXIT_USAGE
    if isinstance(exc, MemoryError):
        sys.stderr.write("error[too-large]: the model is too large to analyze in memory\n" + _source_line(args))
        return EXIT_USAGE
    if isinstance(exc, Exception):  # one line, not a traceback
        return _internal(exc)
    raise exc


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
    """Ctrl-C raises :class:`Interrupted` while a command runs (main thread only: elsewhere
    ``signal.signal`` refuses, and the handler stays as it is)."""
    from cnnscope.errors import Interrupted

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):  # not the main thread, or not the main interpreter
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
    """Console-script entry point: a closed stdout at exit is a quiet 0 too.

    As the program's own entry (the console script, ``python -m cnnscope``; not a caller that
    imports it), two things a short process can skip:

    - the cyclic collector is off unless the command imports torch (``_CollectorBack``): an
      analytic command allocates much and makes no cycles, and the collector would scan its
      objects in vain (a tenth of a 100,000-layer analysis);
    - at the end, with the output flushed, no atexit handler (coverage, torch, logging and
      finalizers register one) and no other thread, the process ends at once instead of taking
      the interpreter down object by object, which nothing observes (a tenth of a small command).
    """
    caller = sys._getframe(1)
    own = caller.f_code.co_name == "<module>" and caller.f_globals.get("__name__") == "__main__"
    if own and gc.isenabled() and not any(m.partition(".")[0] in _CYCLIC for m in sys.modules):
        _HOOK.append(_CollectorBack())
        sys.meta_path.insert(0, _HOOK[0])
        gc.disable()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            if stream is sys.stdout:
                _silence_stdout()
        except (OSError, ValueError, AttributeError):
            pass
    if own and _nothing_left_to_run():
        os._exit(code)
    sys.exit(code)


def _nothing_left_to_run() -> bool:
    """No atexit handler, no other thread: what an interpreter's shutdown would do is free
    memory, which the operating system does at exit anyway."""
    import atexit

    count = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere, the ordinary exit
    threads = sys.modules.get("threading")
    return count is not None and count() == 0 and (threads is None or threads.active_count() == 1)
