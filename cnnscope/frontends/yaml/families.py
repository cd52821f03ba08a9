"""Which module defines each layer type, so that a spec imports only the families it uses.

Importing every layer family is most of what an analytic command's start-up would cost;
a ResNet uses seven of them. The index (type name -> module) is derived once by importing
every family, and kept in the cache of :mod:`cnnscope.perf` under a key of the layers
package's source files and cnnscope's version: an edit to any of them derives it again. It
is a hint, never trusted: after its module is imported a type is looked up in the registry,
and a type it does not place, or places wrongly, makes the registry import every family.
"""

from __future__ import annotations

import os
from importlib import import_module

from cnnscope.layers.base import registered, registry
from cnnscope.perf import content_key, read_cache, write_cache

_ENTRY = "layer-families.json"
_INDEX: dict[str, str] | None = None


def load_family(type_name: str) -> None:
    """Import the module that defines ``type_name``, if the index knows one."""
    if registered(type_name) is None:
        module = index().get(type_name)
        if module is not None:
            import_module(module)


def is_type(name: str) -> bool:
    """Whether ``name`` is a layer type's name (without importing its family)."""
    return registered(name) is not None or name in index()


def index() -> dict[str, str]:
    global _INDEX
    if _INDEX is None:
        _INDEX = _read_or_build()
    return _INDEX


def _read_or_build() -> dict[str, str]:
    import cnnscope.layers as pkg

    key: str | None = None
    modules: set[str] = set()
    try:
        folder = next(iter(pkg.__path__))
        files = sorted(n for n in os.listdir(folder) if n.endswith(".py"))
        modules = {f"{pkg.__name__}.{n[:-3]}" for n in files}
        key = content_key(_ENTRY, files=[os.path.join(folder, n) for n in files])
    except (OSError, StopIteration):  # not a folder of sources: no index kept
        pass
    if key is not None:
        cached = read_cache(_ENTRY, key)
        if isinstance(cached, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and p[1] in modules for p in cached
        ):
            return {t: m for t, m in cached}
    found = {name: cls.__module__ for name, cls in registry().items()}  # imports every family
    if key is not None:
        write_cache(_ENTRY, key, [[t, m] for t, m in found.items() if m in modules])
    return found
