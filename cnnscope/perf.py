"""Small performance helpers shared by the frontends, the analyzers and the CLI: a pause of
the cyclic garbage collector, and a small on-disk cache of derived facts.

The cache holds what a command would otherwise recompute at every start (which module defines
each layer type; the text of ``--help``), one file per entry, keyed by the content it was
derived from and cnnscope's version (``content_key``). It is never trusted: a file that is
missing, for another key, truncated, corrupt or unreadable reads as absent, and the caller
derives the value again and stores it. A file is written whole under a name of its own and
renamed over the entry, so a reader sees an old entry or a new one, never half of one, and
writers in several processes at once each leave a whole file. ``CNNSCOPE_CACHE_DIR`` sets the
folder (default ``$XDG_CACHE_HOME/cnnscope``, else ``~/.cache/cnnscope``); ``CNNSCOPE_NO_CACHE=1``
turns the cache off. A folder that cannot be written only costs the time.
"""

from __future__ import annotations

import gc
import os
import sys
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from importlib import import_module
from typing import Any

try:  # hashlib would load OpenSSL (~2 ms at every start); its blake2b is this one
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - another Python implementation
    from hashlib import blake2b

CACHE_FORMAT = 1
_MAGIC = b"cnnscope-cache"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a burst of allocations.

    Loading and analyzing a graph allocates millions of small objects and frees almost none;
    the collector would scan the growing heap again and again for cycles that are not there
    (a quarter of the time on a 100,000-layer spec). Reference counting still frees memory.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def defer_import(name: str) -> None:
    """Make ``import name`` give a stand-in that imports the real module the first time one of
    its attributes is read, unless it is imported already. For a standard module the command
    line imports through another but never uses: ``dataclasses`` imports ``inspect`` (and with
    it ``ast``, ``dis``, ``tokenize``: ~6 ms) only to write a docstring that cnnscope's classes
    do not ask for. (``importlib.util.LazyLoader`` would not do: in Python 3.11 a second
    ``import`` of a lazy module reads its ``__spec__`` and so runs it.)"""
    if name not in sys.modules:
        sys.modules[name] = _Deferred(name)


class _Deferred(types.ModuleType):
    """A module not imported yet: any attribute read imports it, then reads that."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = import_module(name)
        self.__dict__.update(real.__dict__)  # later reads through this stand-in are plain ones
        return getattr(real, attr)


def cache_dir() -> str | None:
    """The cache's folder, or None when the cache is off."""
    env = os.environ
    if env.get("CNNSCOPE_NO_CACHE", "").strip() not in ("", "0"):
        return None
    if env.get("CNNSCOPE_CACHE_DIR"):
        return env["CNNSCOPE_CACHE_DIR"]
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cnnscope")


def content_key(*parts: str | bytes, files: Iterable[str] = ()) -> str:
    """A key for what was derived from ``parts`` and the bytes of ``files`` (cnnscope's version
    and the Python version are always part of it)."""
    version = sys.modules["cnnscope"].__version__  # the package this module is part of
    h = blake2b(digest_size=20)
    for part in (version, sys.version, *parts):
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path).encode()
        h.update(len(name).to_bytes(8, "little") + name + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def read_cache(name: str, key: str) -> Any:
    """The value stored as ``name`` for ``key``, or None (absent, another key, or damaged)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        with open(os.path.join(folder, name), "rb") as f:
            blob = f.read()
        head, _nl, payload = blob.partition(b"\n")
        magic, fmt, stored_key, digest = head.split(b" ")
        if (magic, fmt, stored_key) != (_MAGIC, str(CACHE_FORMAT).encode(), key.encode()):
            return None
        if blake2b(payload, digest_size=20).hexdigest().encode() != digest:
            return None  # truncated or changed after it was written
        import json

        return json.loads(payload)
    except (OSError, ValueError, UnicodeDecodeError):  # missing, unreadable, malformed
        return None


def write_cache(name: str, key: str, value: Any) -> None:
    """Store ``value`` (JSON) as ``name`` for ``key``: whole, atomically; best effort."""
    folder = cache_dir()
    if folder is None:
        return
    import json

    payload = json.dumps(value, separators=(",", ":")).encode()
    digest = blake2b(payload, digest_size=20).hexdigest()
    blob = b" ".join((_MAGIC, str(CACHE_FORMAT).encode(), key.encode(), digest.encode())) + b"\n" + payload
    path = os.path.join(folder, name)
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(blob)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError):
            os.unlink(tmp)
