"""Project configuration: ``[tool.cnnscope]`` in pyproject.toml, or cnnscope.toml.

Looked up from the current directory upwards; the first file that has a cnnscope table
wins. Paths in it are relative to that file's folder. A config file larger than 16 MiB is
refused; an error in one points at its line where it can (the TOML parser's position, or
the line that sets the key concerned).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnscope.errors import Location, UsageError

MAX_CONFIG_BYTES = 16 * 2**20
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class Config:
    """The cnnscope table of the nearest config file (empty when there is none), and its file."""

    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file it came from
    text: str = field(default="", repr=False, compare=False)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def resolve(self, p: str) -> str:
        """A path from the config, made relative to the config file's folder."""
        q = Path(p)
        try:
            if q.is_absolute() or self.path is None or not (self.root / q).exists():
                return p
        except (OSError, ValueError):  # a name too long to look up
            return p
        return str(self.root / q)

    def loc(self, key: str | None = None) -> Location | None:
        """Where ``key`` (a key of the cnnscope table, or a dotted sub-table) is set: the line
        of ``key =`` or of its ``[...key]`` header; the file alone when it cannot be found."""
        if self.path is None:
            return None
        if key is None or not self.text:
            return Location(str(self.path))
        last = key.split(".")[-1].strip('"')
        pat = re.compile(rf"^\s*(\[\[?[^\]]*\b{re.escape(last)}\"?\s*\]\]?|\"?{re.escape(last)}\"?\s*=)", re.MULTILINE)
        m = pat.search(self.text)
        if m is None:
            return Location(str(self.path))
        line = self.text.count("\n", 0, m.start()) + 1
        col = m.start(1) - (self.text.rfind("\n", 0, m.start(1)) + 1) + 1
        return Location(str(self.path), line, col)


def _bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise UsageError("bad-config", f"cannot read {path}: {exc}", Location(str(path))) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UsageError(
            "bad-config", f"{path.name} is larger than {MAX_CONFIG_BYTES // 2**20} MiB", Location(str(path))
        )
    return raw


def _read(path: Path, raw: bytes | None = None) -> tuple[dict[str, Any], str]:
    import tomllib  # here: most commands find no config to parse, and tomllib takes 2 ms to import

    if raw is None:
        raw = _bytes(path)
    try:
        text = raw.decode("utf-8")
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _AT.search(msg)
        loc = Location(str(path), int(m.group(1)), int(m.group(2))) if m else Location(str(path))
        raise UsageError("bad-config", f"cannot parse {path.name}: {_AT.sub('', msg).strip()}", loc) from None
    except UnicodeDecodeError as exc:
        raise UsageError("bad-config", f"cannot read {path}: {exc}", Location(str(path))) from None
    except RecursionError:
        raise UsageError("bad-config", f"{path.name} nests too deeply", Location(str(path))) from None


def _table(value: Any, what: str, cfg: Config) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(
            "bad-config",
            f"{what} in {cfg.path.name if cfg.path else 'the config'} must be a table, got {type(value).__name__}",
            cfg.loc(what.strip("[]").split(".")[-1]),
        )
    return value


def find_config(start: Path | None = None) -> Config:
    """The nearest cnnscope.toml (whole file) or pyproject.toml with [tool.cnnscope]. A
    pyproject.toml that never says ``cnnscope`` is passed over unparsed (its errors are another
    tool's)."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        own = d / "cnnscope.toml"
        if own.is_file():
            data, text = _read(own)
            bare = Config({}, own, text)
            tool = data.get("tool")
            if tool is not None and "cnnscope" in _table(tool, "[tool]", bare):
                return Config(_table(tool["cnnscope"], "[tool.cnnscope]", bare), own, text)
            return Config(data, own, text)
        py = d / "pyproject.toml"
        raw = _bytes(py) if py.is_file() else b""
        if b"cnnscope" in raw:  # a [tool.cnnscope] table names it; another tool's file is not read
            data, text = _read(py, raw)
            bare = Config({}, py, text)
            tool = data.get("tool", {})
            table = _table(tool, "[tool]", bare).get("cnnscope")
            if table is not None:
                return Config(_table(table, "[tool.cnnscope]", bare), py, text)
        if (d / ".git").exists():
            break
    return Config()
