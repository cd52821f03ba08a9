"""The import contract of docs/architecture.md, checked on the source (every import, lazy
ones inside functions included), and the paths that page names exist."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "cnnscope"

# part -> the parts it may import (itself always allowed). Parts are top-level names under
# cnnscope/ (a package or a module). Anything not listed here may import anything.
CONTRACT: dict[str, set[str]] = {
    "diagnostics": {"records"},
    "errors": {"diagnostics"},
    "perf": set(),
    "modules": set(),  # import every module of a package: the registries' one discovery
    "records": set(),  # frozen and mutable dataclasses without generated code
    "layers": {"diagnostics", "errors", "modules", "records"},
    "graph": {"diagnostics", "errors", "layers", "records"},
    "frontends": {"diagnostics", "errors", "graph", "layers", "perf", "modules", "records"},
    "analyze": {"diagnostics", "errors", "graph", "layers", "perf", "modules", "records"},
    # the students' tools compute (explain, fit, lint); render and cli write what they find
    "learn": {"diagnostics", "errors", "graph", "layers", "analyze", "modules", "records"},
    # the gate computes verdicts (numbers, units, locations); a measured budget times the model
    # with the profiler (gate/measure.py); render writes the words
    "gate": {"diagnostics", "errors", "graph", "layers", "analyze", "frontends", "config", "profile", "records"},
    "diff": {"diagnostics", "errors", "graph", "layers", "analyze", "frontends", "records"},
    "zoo": {"errors", "graph", "layers", "analyze", "frontends", "records"},
    # render writes what every part below it finds: one emitter per format, one view per result;
    # draw (pictures) sits above it and uses its units, so render never imports draw (no cycle)
    "render": {
        *("diagnostics", "errors", "graph", "layers", "analyze", "records", "modules"),
        *("learn", "gate", "diff", "profile", "verify"),
    },
    # profile builds and times modules from a graph; it also reports the analyzers' figures
    # beside the measured ones (per-layer MACs, roofline, ERF against the theoretical RF)
    "profile": {"errors", "graph", "layers", "perf", "analyze", "records"},
}


def _part(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "cnnscope" and len(parts) > 1:
                out.add(parts[1])
            elif parts[0] == "cnnscope" and isinstance(node, ast.ImportFrom):
                out.update(a.name for a in node.names)
    return out


def _violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        part = _part(path)
        allowed = CONTRACT.get(part)
        if allowed is None:
            continue
        for imp in sorted(_imports(path) - allowed - {part}):
            bad.append(f"{path.relative_to(ROOT)} ({part}) imports cnnscope.{imp}")
    return bad


def test_imports_follow_the_contract() -> None:
    assert _violations() == []


@pytest.mark.parametrize(
    ("part", "imported"), [("layers", "analyze"), ("learn", "render"), ("learn", "cli"), ("analyze", "learn")]
)
def test_the_contract_check_bites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: str, imported: str) -> None:
    # a module importing against the direction must be reported (lazily, inside a function, too)
    fake = tmp_path / "cnnscope" / part
    fake.mkdir(parents=True)
    (fake / "x.py").write_text(f"def f() -> None:\n    import cnnscope.{imported}.base\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", tmp_path / "cnnscope")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _violations() == [f"cnnscope/{part}/x.py ({part}) imports cnnscope.{imported}"]


def test_paths_in_the_architecture_page_exist() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:cnnscope|tests|bench|specs|docs)/[\w./-]*)`", text))
    assert paths, "the page names no paths"
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert missing == []


def test_the_torch_frontend_has_no_layer_type_table() -> None:
    # capture rules live in rules/, one file per op family; the builder (builder.py and the
    # two modules it is made of) knows no op by name
    for name in ("builder.py", "mapping.py", "nodes.py"):
        src = (PKG / "frontends" / "torch" / name).read_text(encoding="utf-8")
        assert "registry()" not in src and '"conv' not in src, name


def test_the_page_states_the_contract_this_test_checks() -> None:
    """docs/architecture.md's import-contract table and CONTRACT above say the same: every part
    the page names, and for each the parts it may import (the bare names in its row)."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = page.split("## The import contract", 1)[1].split("\n\n| part | may import |", 1)[1].split("\n\n", 1)[0]
    stated: dict[str, set[str]] = {}
    for row in table.splitlines()[2:]:
        parts, allowed = row.strip("|").split("|")[:2]
        listed = re.split(r": | \(", allowed, maxsplit=1)[0]  # the list; prose after ": " or " ("
        names = set(re.findall(r"`([a-z_]+)`", listed))  # bare part names (a path has a slash)
        for part in re.findall(r"`([a-z_]+)`", parts):
            stated[part] = names
    for part in ("cli", "verify", "export", "testing"):  # "anything below them": not in CONTRACT
        assert part in stated and part not in CONTRACT
        stated.pop(part)
    base = ("diagnostics", "errors", "perf", "modules", "records")  # the page's table starts above them
    assert stated == {p: a for p, a in CONTRACT.items() if p not in base}
