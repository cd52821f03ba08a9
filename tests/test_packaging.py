"""What a user installs: pyproject.toml's package list, its data, and a real wheel of it.

pyproject.toml lists every subpackage by hand (``[tool.setuptools] packages``), so a new
package that is not listed installs as nothing: the checkout works, the wheel does not. The
fast tests hold the list and the data globs to the tree; the wheel test builds one offline
(``pip wheel --no-deps --no-build-isolation --no-index``, from a copy of the sources), then
runs the console script's entry point from the unpacked wheel alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setuptools() -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    return table


def _package_dir(package: str) -> Path:
    mapped = _setuptools().get("package-dir", {})
    return ROOT / mapped[package] if package in mapped else ROOT / package.replace(".", "/")


def test_every_package_is_listed() -> None:
    listed = set(_setuptools()["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "cnnscope").rglob("*.py")
        if "__pycache__" not in p.parts
    } | {"cnnscope.specs"}
    missing = sorted(on_disk - listed)
    assert not missing, f"packages with modules but not in pyproject.toml's packages (a wheel lacks them): {missing}"
    stale = sorted(p for p in listed if not (_package_dir(p) / "__init__.py").is_file())
    assert not stale, f"listed in pyproject.toml but no package on disk: {stale}"


def test_package_data_globs_match_files() -> None:
    for package, globs in _setuptools()["package-data"].items():
        for pattern in globs:
            assert list(_package_dir(package).glob(pattern)), f"{package}: `{pattern}` matches no file"
    assert (ROOT / "specs" / "lenet5.yaml").is_file()  # the spec the wheel test runs


def _sources(dst: Path) -> Path:
    """The files a build reads, copied (the checkout stays untouched by the build)."""
    src = dst / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("cnnscope", "specs"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    return src


def test_built_wheel_ships_code_data_and_a_working_console_script(tmp_path: Path) -> None:
    src = _sources(tmp_path)
    dist = tmp_path / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    proc = subprocess.run([*cmd, "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0 and "setuptools" in proc.stderr and "No module named" in proc.stderr:
        pytest.skip("no setuptools in this environment to build with")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = dist.glob("cnnscope-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
        zf.extractall(tmp_path / "site")
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "cnnscope").rglob("*.py") if "__pycache__" not in str(p)}
    assert not modules - names, f"modules missing from the wheel: {sorted(modules - names)[:10]}"
    specs = {f"cnnscope/specs/{p.name}" for p in (ROOT / "specs").glob("*.yaml")}
    assert not specs - names, f"built-in specs missing from the wheel: {sorted(specs - names)}"
    assert {"cnnscope/draw/assets/draw.js", "cnnscope/draw/assets/draw.css"} <= names
    assert "cnnscope = cnnscope.cli.main:entry" in entry_points
    # the console script's entry point, from the unpacked wheel alone, reads a built-in spec
    code = (
        "import sys, cnnscope; print(cnnscope.__file__, file=sys.stderr); "
        "from cnnscope.cli.main import entry; sys.argv = ['cnnscope', 'params', 'lenet5', '--format', 'json']; entry()"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.splitlines()[0].startswith(str(tmp_path / "site")), run.stderr  # not the checkout
    # LeNet-5 by hand: (5·5·1 + 1)·6 + (5·5·6 + 1)·16 + (400 + 1)·120 + (120 + 1)·84 + (84 + 1)·10
    assert json.loads(run.stdout)["totals"]["params"] == 61_706
