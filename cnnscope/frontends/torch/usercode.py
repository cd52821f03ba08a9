"""Running a user's code for a module source: importing ``pkg.mod`` or ``path/file.py``
(no bytecode left in the user's tree), reading the attribute, calling the class or factory
with ``--kwargs``; whatever the user's code raises (or exits with) becomes a SourceError at
the line that raised it."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torch import nn

from cnnscope.errors import CnnscopeError, Interrupted, Location, SourceError, did_you_mean

MAX_SOURCE_BYTES = 16 * 2**20  # a module file larger than this is not imported


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _user_failure(exc: BaseException, what: str, kind: str = "import-failed") -> SourceError:
    """A user's code raised (or exited): a SourceError at the line that raised it."""
    if isinstance(exc, Interrupted):  # Ctrl-C: not the source's failure
        raise exc
    if isinstance(exc, SyntaxError):
        loc = Location(exc.filename, exc.lineno, exc.offset) if exc.filename else None
        return SourceError(kind, f"{what}: SyntaxError: {exc.msg}", loc)
    if isinstance(exc, SystemExit):
        message = f"{what} called sys.exit({exc.code!r})"
        hint = "cnnscope's exit code is its own: a module source must not exit while it is imported or built"
    elif isinstance(exc, KeyboardInterrupt):
        message = f"{what} raised KeyboardInterrupt"
        hint = "only Ctrl-C interrupts cnnscope"
    else:
        message = f"{what} raised {type(exc).__name__}: {exc}"
        hint = None
    return SourceError(kind, message, _raising_line(exc), hint)


def _raising_line(exc: BaseException) -> Location | None:
    """The innermost frame of the traceback outside cnnscope and the import machinery."""
    here = str(Path(__file__).resolve().parents[2])
    loc = None
    for frame in traceback.extract_tb(exc.__traceback__):
        f = frame.filename
        if f.startswith("<") or f.startswith(here):
            continue
        loc = Location(f, frame.lineno)
    return loc


@contextmanager
def _no_bytecode() -> Iterator[None]:
    was = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = was


def _import_attr(prefix: str, attr: str) -> Any:
    path = Path(prefix)
    if prefix.endswith(".py") or _is_file(path):
        if not _is_file(path):
            raise SourceError("source-not-found", f"no such file `{prefix}`")
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise SourceError("source-not-found", f"cannot read `{prefix}`: {exc.strerror}") from None
        if size > MAX_SOURCE_BYTES:
            raise SourceError(
                "too-large", f"`{prefix}` is {size:,} bytes; a module file may be at most {MAX_SOURCE_BYTES:,}"
            )
        mod_name = f"_cnnscope_user_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise SourceError("source-not-found", f"cannot import `{prefix}` as Python")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = mod
        try:
            with _no_bytecode():  # leave the user's tree as it was: no __pycache__
                spec.loader.exec_module(mod)
        except BaseException as exc:
            sys.modules.pop(mod_name, None)
            raise _user_failure(exc, f"importing `{prefix}`") from None
    else:
        cwd = str(Path.cwd())
        added = cwd not in sys.path
        if added:  # `pkg.mod:Net` from the project folder, as `python -m` would find it
            sys.path.insert(0, cwd)
        try:
            with _no_bytecode():
                mod = importlib.import_module(prefix)
        except ModuleNotFoundError as exc:
            hint = "is it installed, or on PYTHONPATH? a file path needs its `.py`"
            raise SourceError("source-not-found", f"cannot import `{prefix}`: {exc}", hint=hint) from None
        except BaseException as exc:
            raise _user_failure(exc, f"importing `{prefix}`") from None
        finally:
            if added and cwd in sys.path:
                sys.path.remove(cwd)
    obj: Any = mod
    for part in attr.split("."):
        try:
            found = hasattr(obj, part)
            if found:
                obj = getattr(obj, part)
        except BaseException as exc:  # a module-level __getattr__ is user code too
            raise _user_failure(exc, f"reading `{prefix}:{attr}`") from None
        if not found:
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise SourceError("source-not-found", f"`{prefix}` has no attribute `{attr}`{did_you_mean(part, public)}")
    return obj


def _check_binding(fn: Any, kw: dict[str, Any], what: str) -> None:
    """--kwargs against the signature: only a call that cannot bind is a --kwargs problem."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: the call will tell
        return
    try:
        sig.bind(**kw)
    except TypeError as exc:
        params = [p for p in sig.parameters if p not in ("self", "args", "kwargs")]
        raise SourceError(
            "bad-kwargs",
            f"`{what}` cannot be called with --kwargs {json.dumps(kw)[:200]}: {exc}",
            hint=("its arguments: " + ", ".join(params)) if params else f"`{what}` takes no arguments",
        ) from None


def _call(fn: Callable[[], Any], what: str, target: Any = None, kw: dict[str, Any] | None = None) -> nn.Module:
    if target is not None:
        _check_binding(target, kw or {}, what)
    try:
        model = fn()
    except CnnscopeError:
        raise
    except BaseException as exc:
        raise _user_failure(exc, f"building `{what}`") from None
    if not isinstance(model, nn.Module):
        raise SourceError("not-a-module", f"`{what}` gave a {type(model).__name__}, not a torch.nn.Module")
    return model


def _instantiate(obj: Any, kw: dict[str, Any], source: str) -> nn.Module:
    if isinstance(obj, nn.Module):
        if kw:
            raise SourceError("bad-kwargs", f"`{source}` is a module instance; it takes no --kwargs")
        return obj
    if not callable(obj):
        raise SourceError("not-a-module", f"`{source}` is a {type(obj).__name__}, not a module class or factory")
    return _call(lambda: obj(**kw), source, obj, kw)
