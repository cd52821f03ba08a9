"""Project configuration: ``[tool.cnnscope]`` in pyproject.toml, or cnnscope.toml.

Looked up from the current directory upwards; the first file that has a cnnscope table
wins. Paths in it are relative to that file's folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnscope.errors import Location, UsageError


@dataclass(frozen=True)
class Config:
    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file it came from

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def resolve(self, p: str) -> str:
        """A path from the config, made relative to the config file's folder."""
        q = Path(p)
        if q.is_absolute() or self.path is None or not (self.root / q).exists():
            return p
        return str(self.root / q)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("bad-config", f"cannot parse {path.name}: {exc}", Location(str(path))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("bad-config", f"cannot read {path}: {exc}", Location(str(path))) from None


def find_config(start: Path | None = None) -> Config:
    """The nearest cnnscope.toml (whole file) or pyproject.toml with [tool.cnnscope]."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        own = d / "cnnscope.toml"
        if own.is_file():
            data = _read(own)
            return Config(data.get("tool", {}).get("cnnscope", data), own)
        py = d / "pyproject.toml"
        if py.is_file():
            data = _read(py)
            table = data.get("tool", {}).get("cnnscope")
            if table is not None:
                if not isinstance(table, dict):
                    raise UsageError("bad-config", "[tool.cnnscope] must be a table", Location(str(py)))
                return Config(table, py)
        if (d / ".git").exists():
            break
    return Config()
