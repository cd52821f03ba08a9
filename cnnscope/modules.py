"""The house's one way of finding what a folder holds: every module of a package, imported in
name order. Layer families, analyzers, lint rules and capture rules each register themselves
when their module is imported, so a new one is one new file; a module named ``_...`` is a
part of another and is not imported here. Imports nothing of cnnscope, so every part may use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import import_module


def import_all(package: str, path: Iterable[str], skip: Iterable[str] = ()) -> None:
    """Import every module of ``package`` (its ``__path__`` is ``path``) but ``_`` ones and
    ``skip``, in name order. A module that fails to import raises: a broken rule or layer file
    is an error to see, not a registry that quietly lacks it."""
    left_out = set(skip)
    for name in sorted(names(path)):
        if not name.startswith("_") and name not in left_out:
            try:
                import_module(f"{package}.{name}")
            except Exception as exc:  # say which file: the registry would otherwise just lack it
                raise RuntimeError(f"{package}.{name} failed to import: {type(exc).__name__}: {exc}") from exc


def names(path: Iterable[str]) -> set[str]:
    """The modules and packages in the folders ``path``: ``x.py`` files and folders with an
    ``__init__.py``, read with ``os.scandir`` (``pkgutil`` would import ``inspect`` for it,
    ~6 ms of every command's start); a path that is no folder (a zip) is pkgutil's to list."""
    found: set[str] = set()
    for folder in path:
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".py") and entry.is_file():
                        found.add(entry.name[:-3])
                    elif entry.is_dir() and os.path.isfile(os.path.join(entry.path, "__init__.py")):
                        found.add(entry.name)
        except (NotADirectoryError, FileNotFoundError):
            import pkgutil

            found.update(m.name for m in pkgutil.iter_modules([folder]))
    return {n for n in found if n.isidentifier()}
