"""Model sources -> Graph: a YAML file, a built-in spec name, or a torch module path.

``resnet18`` finds ``specs/resnet18.yaml`` (shipped inside the package); anything with a
``:`` (``pkg.mod:Net``, ``./model.py:build``, ``torchvision:resnet50``) goes to the torch
module frontend, which is imported only then.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from cnnscope.errors import SourceError, did_you_mean
from cnnscope.graph import Graph
from cnnscope.spec.loader import load_spec

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
    p = builtin_dir() / f"{name}.yaml"
    return p if p.is_file() else None


def is_module_source(source: str) -> bool:
    return ":" in source and Path(source).suffix.lower() not in YAML_SUFFIXES


def load_file(path: Path, input_shape: tuple[int, ...] | None = None, source: str | None = None) -> Graph:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise SourceError("source-not-found", f"`{path}` is a directory, not a spec file") from None
    except OSError as exc:
        raise SourceError("source-not-found", f"cannot read `{path}`: {exc.strerror}") from None
    return load_spec(data, file=str(path), source=source or str(path), input_shape=input_shape)


def load(source: str, input_shape: tuple[int, ...] | None = None, **module_options: object) -> Graph:
    """Resolve ``source`` and return its graph; ``input_shape`` (no batch) overrides the spec's."""
    path = Path(source)
    if path.suffix.lower() in YAML_SUFFIXES or path.is_file():
        if not path.exists():
            raise SourceError(
                "source-not-found",
                f"no such file `{source}`",
                hint=_builtin_hint(path.stem),
            )
        return load_file(path, input_shape)
    bp = builtin_path(source)
    if bp is not None:
        return load_file(bp, input_shape, source=f"builtin:{source}")
    if is_module_source(source):
        from cnnscope.spec import module as module_frontend

        return module_frontend.load_module(source, input_shape, **module_options)
    names = builtin_names()
    raise SourceError(
        "source-not-found",
        f"`{source}` is not a spec file, a built-in spec or a module path{did_you_mean(source, names)}",
        hint="built-in specs: " + ", ".join(names) + "; a module is `pkg.mod:Net` or `file.py:Net`",
    )


def _builtin_hint(stem: str) -> str | None:
    names = builtin_names()
    if stem in names:
        return f"`{stem}` is also a built-in spec: run it by name"
    close = did_you_mean(stem, names)
    return f"built-in specs{close}: " + ", ".join(names) if names else None
