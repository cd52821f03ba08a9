"""The house's one way of finding what a folder holds: every module of a package, imported in
name order. Layer families, analyzers, lint rules and capture rules each register themselves
when their module is imported, so a new one is one new file; a module named ``_...`` is a
part of another and is not imported here. Imports nothing of cnnscope, so every part may use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module


def import_all(package: str, path: Iterable[str], skip: Iterable[str] = ()) -> None:
    """Import every module of ``package`` (its ``__path__`` is ``path``) but ``_`` ones and
    ``skip``, in name order. A module that fails to import raises: a broken rule or layer file
    is an error to see, not a registry that quietly lacks it."""
    import pkgutil  # here: a command whose families are known (the cache) never lists a folder

    left_out = set(skip)
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if not info.name.startswith("_") and info.name not in left_out:
            try:
                import_module(f"{package}.{info.name}")
            except Exception as exc:  # say which file: the registry would otherwise just lack it
                raise RuntimeError(f"{package}.{info.name} failed to import: {type(exc).__name__}: {exc}") from exc
