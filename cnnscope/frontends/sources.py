"""Model sources -> Graph: a YAML file, a built-in spec name, or a torch module path.

``resnet18`` finds ``specs/resnet18.yaml`` (shipped inside the package); anything with a
``:`` (``pkg.mod:Net``, ``./model.py:build``, ``torchvision:resnet50``) goes to the torch
module frontend, which is imported only then.
"""

from __future__ import annotations

import os
import stat
import sys
from importlib import import_module
from pathlib import Path

from cnnscope.errors import Location, SourceError, did_you_mean
from cnnscope.frontends.yaml.loader import load_spec
from cnnscope.graph import Graph

YAML_SUFFIXES = (".yaml", ".yml")


def builtin_dir() -> Path:
    """The folder of built-in specs (``specs/`` in a checkout, ``cnnscope/specs`` installed).

    Found through the ``cnnscope.specs`` package itself rather than importlib.resources, whose
    import alone costs more than loading a spec.
    """
    try:
        return Path(str(import_module("cnnscope.specs").__file__)).parent
    except ImportError:  # pragma: no cover - running from a bare checkout
        return Path(__file__).resolve().parents[2] / "specs"


def builtin_names() -> list[str]:
    d = builtin_dir()
    return sorted(p.stem for p in d.glob("*.yaml"))


def builtin_path(name: str) -> Path | None:
    if not name or any(c in name for c in "/\\:\x00") or name.startswith("."):
        return None
    p = builtin_dir() / f"{name}.yaml"
    return p if _is_file(p) else None


BUILTIN_PREFIX = "builtin:"
MAX_SPEC_BYTES = 16 * 2**20  # a spec file larger than this is refused, not read


def is_module_source(source: str) -> bool:
    return (
        ":" in source
        and not source.startswith(BUILTIN_PREFIX)
        and Path(source).suffix.lower() not in YAML_SUFFIXES
        and not _is_file(Path(source))
    )


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a name the file system cannot even look up (too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def read_capped(path: Path, what: str = "spec file", limit: int = MAX_SPEC_BYTES) -> bytes:
    """The bytes of ``path``, refusing one larger than ``limit`` before reading it (a regular
    file) or after ``limit`` bytes (a device, a pipe: /dev/zero never ends)."""
    loc = Location(str(path))
    try:
        with open(path, "rb") as fh:
            try:
                size = os.fstat(fh.fileno()).st_size if stat.S_ISREG(os.fstat(fh.fileno()).st_mode) else -1
            except OSError:
                size = -1
            if size > limit:
                raise SourceError(
                    "too-large",
                    f"the {what} is {size:,} bytes; cnnscope reads at most {limit:,} ({limit // 2**20} MiB)",
                    loc,
                )
            data = fh.read(limit + 1)
    except IsADirectoryError:
        raise SourceError("source-not-found", f"`{path}` is a directory, not a {what}") from None
    except OSError as exc:
        raise SourceError("source-not-found", f"cannot read `{path}`: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise SourceError(
            "too-large",
            f"the {what} is longer than {limit:,} bytes ({limit // 2**20} MiB), the most cnnscope reads",
            loc,
        )
    return data


def load_file(path: Path, input_shape: tuple[int, ...] | None = None, source: str | None = None) -> Graph:
    data = read_capped(path)
    return load_spec(data, file=str(path), source=source or str(path), input_shape=input_shape)


def load(source: str, input_shape: tuple[int, ...] | None = None, **module_options: object) -> Graph:
    """Resolve ``source`` and return its graph; ``input_shape`` (no batch) overrides the spec's.

    The rule, in order: ``builtin:NAME`` is a built-in spec; a bare built-in name (``resnet18``:
    no folder, no suffix) is the built-in, even when a file of that name is in the working
    directory (a note on stderr says so; ``./resnet18`` reads the file); a ``.yaml``/``.yml``
    path or an existing file is a spec file; ``pkg.mod:attr`` / ``file.py:attr`` is a module.
    """
    if source.startswith(BUILTIN_PREFIX):
        name = source[len(BUILTIN_PREFIX) :]
        bp = builtin_path(name) if name else None
        if bp is None:
            names = builtin_names()
            raise SourceError(
                "source-not-found",
                f"`{name}` is not a built-in spec{did_you_mean(name, names)}",
                hint="built-in specs: " + ", ".join(names),
            )
        return load_file(bp, input_shape, source=source)
    path = Path(source)
    bp = builtin_path(source) if _is_plain_name(source) else None
    if bp is not None:
        if _is_file(path):
            sys.stderr.write(
                f"note: `{source}` is the built-in spec; the file `{source}` in this folder is not read "
                f"(write ./{source} for the file, or builtin:{source} to say so)\n"
            )
        return load_file(bp, input_shape, source=f"builtin:{source}")
    if path.suffix.lower() in YAML_SUFFIXES or _is_file(path):
        if not _exists(path):
            near = _near_files(path)
            raise SourceError(
                "source-not-found",
                f"no such file `{source}`" + near,
                hint=_builtin_hint(path.stem),
            )
        return load_file(path, input_shape)
    if is_module_source(source):
        from cnnscope.frontends.torch import capture as module_frontend

        return module_frontend.load_module(source, input_shape, **module_options)
    names = builtin_names()
    raise SourceError(
        "source-not-found",
        f"`{source}` is not a spec file, a built-in spec or a module path{did_you_mean(source, names)}",
        hint="built-in specs: " + ", ".join(names) + "; a module is `pkg.mod:Net` or `file.py:Net`",
    )


def _is_plain_name(source: str) -> bool:
    return bool(source) and "/" not in source and "\\" not in source and "." not in source and ":" not in source


def _near_files(path: Path) -> str:
    """`` (did you mean `net.yaml`?)`` from the YAML files beside the missing one."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in YAML_SUFFIXES)[:10_000]
    except OSError:
        return ""
    close = did_you_mean(path.name, names)
    if not close or path.parent == Path("."):
        return close
    return close.replace("`", f"`{path.parent}/", 1) if close.count("`") == 2 else close


def _builtin_hint(stem: str) -> str | None:
    names = builtin_names()
    if stem in names:
        return f"`{stem}` is also a built-in spec: run it by name"
    close = did_you_mean(stem, names)
    return f"built-in specs{close}: " + ", ".join(names) if names else None
