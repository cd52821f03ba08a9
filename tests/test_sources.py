"""Where a spec comes from: a file, a built-in name, a module path; and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnscope.errors import SourceError
from cnnscope.frontends import sources


def refused(source: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        sources.load(source)
    assert info.value.kind == "source-not-found"
    return info.value


def test_missing_yaml_file_suggests_the_builtin(tmp_path: Path) -> None:
    err = refused(str(tmp_path / "resnet19.yaml"))
    assert err.message == f"no such file `{tmp_path / 'resnet19.yaml'}`"
    assert err.hint is not None and "did you mean" in err.hint and "`resnet18`" in err.hint


def test_missing_file_named_like_a_builtin(tmp_path: Path) -> None:
    err = refused(str(tmp_path / "resnet18.yaml"))
    assert err.hint == "`resnet18` is also a built-in spec: run it by name"


def test_directory_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "net.yaml"
    d.mkdir()
    assert refused(str(d)).message == f"`{d}` is a directory, not a spec file"


def test_unknown_name_lists_builtins() -> None:
    err = refused("resnt18")
    assert "did you mean" in err.message and "`resnet18`" in err.message
    assert err.hint is not None and err.hint.startswith("built-in specs: ")


def test_file_and_builtin_load(tmp_path: Path) -> None:
    f = tmp_path / "net.yml"
    f.write_text("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 2, kernel_size: 3}\n")
    g = sources.load(str(f))
    assert g.input_shape == (3, 8, 8) and g.source == str(f)
    g2 = sources.load(str(f), input_shape=(3, 5, 5))
    assert g2.input_shape == (3, 5, 5)
    assert "resnet18" in sources.builtin_names()
    b = sources.load("resnet18")
    assert b.source == "builtin:resnet18"


def test_module_source_routing() -> None:
    assert sources.is_module_source("pkg.mod:Net")
    assert sources.is_module_source("file.py:Net")
    assert not sources.is_module_source("net.yaml")
    assert not sources.is_module_source("resnet18")
