"""``--help`` from the cache: typer and rich take a tenth of a second to write a text that is
the same every time for the same code, library versions, terminal and environment.

A help request (``cnnscope``, ``cnnscope --help``, ``cnnscope COMMAND --help``, or ``-h``) is
looked up under a key of all of these (cnnscope.perf): the bytes of every cnnscope source file,
cnnscope's, typer's, click's and rich's versions, the Python version, the whole environment but
for the variables a shell changes at every prompt, and for stdin, stdout and stderr whether
each is a terminal and its size, the streams' types and encodings. A hit writes the stored
stdout and stderr; a miss runs typer with both streams teed, and stores what it wrote. Any
doubt (a stream that is not a plain text stream, a text that is not what typer wrote, a command
that did not end as help ends) stores nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from cnnscope.perf import cache_dir, content_key, read_cache, write_cache

_HELP = ("--help", "-h")
# what a shell changes between prompts; nothing that decides how a text is written
_VOLATILE = frozenset({"PWD", "OLDPWD", "SHLVL", "_", "PS1", "PS2", "PROMPT_COMMAND"})
_ENTRY = "help-{}.json"


def is_help(args: Sequence[str]) -> bool:
    """A plain help request, which writes the same text every time."""
    from cnnscope.cli import COMMANDS

    return (
        len(args) == 0
        or (len(args) == 1 and args[0] in _HELP)
        or (len(args) == 2 and args[0] in COMMANDS and args[1] in _HELP)
    )


def replay(args: Sequence[str]) -> int | None:
    """Write the stored help for ``args``, returning its exit code; None when there is none."""
    key = _key(args)
    if key is None:
        return None
    stored = read_cache(_ENTRY.format(key[:16]), key)
    if not (isinstance(stored, dict) and isinstance(stored.get("out"), str) and isinstance(stored.get("err"), str)):
        return None
    sys.stdout.write(stored["out"])
    sys.stdout.flush()
    if stored["err"]:
        sys.stderr.write(stored["err"])
        sys.stderr.flush()
    return 0


def record(args: Sequence[str], run: Callable[[], Any]) -> Any:
    """``run()`` (typer answering the help request) with stdout and stderr teed; what they got
    is stored when it ended as help ends (exit code 0)."""
    key = _key(args)
    if key is None:
        return run()
    out, err = _Tee(sys.stdout), _Tee(sys.stderr)
    sys.stdout, sys.stderr = out, err
    ended = False
    try:
        try:
            rv = run()
        except Exception as exc:
            click = sys.modules.get("click")
            ended = click is not None and isinstance(exc, click.exceptions.NoArgsIsHelpError)
            raise
        ended = rv in (0, None) and not isinstance(rv, bool)
        return rv
    finally:
        sys.stdout, sys.stderr = out.stream, err.stream
        if ended and out.ok and err.ok:
            write_cache(_ENTRY.format(key[:16]), key, {"out": "".join(out.parts), "err": "".join(err.parts)})


def _key(args: Sequence[str]) -> str | None:
    if cache_dir() is None or not is_help(args) or not (_plain(sys.stdout) and _plain(sys.stderr)):
        return None
    try:
        import cnnscope

        package = os.path.dirname(os.path.abspath(cnnscope.__file__))
        files = sorted(_sources(package))
        parts = ["help", "\0".join(args), *_versions(("typer", "click", "rich"))]
        parts += [f"{k}={v}" for k, v in sorted(os.environ.items()) if k not in _VOLATILE]
        for fd, stream in ((0, None), (1, sys.stdout), (2, sys.stderr)):
            parts.append(f"fd{fd} {_terminal(fd)}")
            if stream is not None:
                parts.append(f"{type(stream).__module__}.{type(stream).__qualname__} {stream.encoding} {stream.errors}")
        return content_key(*parts, files=files)
    except (OSError, ValueError, UnicodeError):
        return None


def _sources(folder: str) -> list[str]:
    out = []
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
            out += _sources(entry.path)
        elif entry.name.endswith(".py"):
            out.append(entry.path)
    return out


def _versions(names: Sequence[str]) -> list[str]:
    """Each distribution's ``.dist-info`` name (its version), found beside its package."""
    import importlib.util

    out = []
    for name in names:
        spec = importlib.util.find_spec(name)
        where = os.path.dirname(os.path.dirname(spec.origin)) if spec is not None and spec.origin else None
        infos = [] if where is None else [e for e in os.listdir(where) if e.lower().startswith(f"{name}-")]
        out.append(f"{name}: {spec.origin if spec else None} {sorted(infos)}")
    return out


def _terminal(fd: int) -> str:
    try:
        tty = os.isatty(fd)
    except OSError:
        return "closed"
    try:
        size = tuple(os.get_terminal_size(fd))
    except (OSError, ValueError):
        size = None
    return f"tty={tty} size={size}"


def _plain(stream: Any) -> bool:
    """A text stream with an encoding (not a test's capture object of some other kind)."""
    return isinstance(getattr(stream, "encoding", None), str) and hasattr(stream, "write")


class _Tee:
    """A text stream that writes through to ``stream`` and keeps a copy; everything else (isatty,
    fileno, encoding, ...) is the stream's own, so that what writes to it writes as ever."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.parts: list[str] = []
        self.ok = True

    def write(self, text: Any) -> Any:
        written = self.stream.write(text)  # click probes with b"", which a text stream refuses
        if isinstance(text, str):
            self.parts.append(text)
        else:
            self.ok = False
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # bytes written there would escape the copy
            self.ok = False
        return getattr(self.stream, name)
