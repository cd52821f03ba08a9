"""Project configuration: cnnscope.toml against pyproject's [tool.cnnscope], and bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnscope.config import Config, find_config
from cnnscope.errors import UsageError


def test_cnnscope_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "cnnscope.toml").write_text("batch = 4\n")
    (tmp_path / "pyproject.toml").write_text("[tool.cnnscope]\nbatch = 8\n")
    cfg = find_config(tmp_path)
    assert cfg.get("batch") == 4 and cfg.path == tmp_path / "cnnscope.toml"


def test_cnnscope_toml_may_also_use_the_tool_table(tmp_path: Path) -> None:
    (tmp_path / "cnnscope.toml").write_text("[tool.cnnscope]\nbatch = 2\n")
    assert find_config(tmp_path).get("batch") == 2


def test_pyproject_table_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.cnnscope]\nbatch = 8\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    cfg = find_config(sub)
    assert cfg.get("batch") == 8 and cfg.root == tmp_path
    assert cfg.get("missing", "dflt") == "dflt"


def test_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the search stops at the repository root
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    cfg = find_config(tmp_path)
    assert cfg == Config() and cfg.path is None and cfg.root == Path.cwd()


def test_tool_cnnscope_must_be_a_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool]\ncnnscope = 3\n")
    with pytest.raises(UsageError) as info:
        find_config(tmp_path)
    assert info.value.kind == "bad-config" and "must be a table" in info.value.message


def test_bad_toml_is_a_located_usage_error(tmp_path: Path) -> None:
    (tmp_path / "cnnscope.toml").write_text("batch = = 4\n")
    with pytest.raises(UsageError) as info:
        find_config(tmp_path)
    assert info.value.kind == "bad-config"
    assert info.value.message.startswith("cannot parse cnnscope.toml")
    assert info.value.loc is not None and info.value.loc.file == str(tmp_path / "cnnscope.toml")


def test_non_utf8_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "cnnscope.toml").write_bytes(b"batch = '\xff\xfe'\n")
    with pytest.raises(UsageError) as info:
        find_config(tmp_path)
    assert info.value.message.startswith("cannot ")


def test_resolve_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "a.yaml").write_text("x")
    cfg = Config({}, tmp_path / "cnnscope.toml")
    assert cfg.resolve("nets/a.yaml") == str(tmp_path / "nets" / "a.yaml")
    assert cfg.resolve("nets/none.yaml") == "nets/none.yaml"  # not there: left as written
    assert cfg.resolve(str(tmp_path)) == str(tmp_path)  # absolute
    assert Config().resolve("nets/a.yaml") == "nets/a.yaml"


def test_bad_toml_exits_2_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cnnscope.cli.main import main

    (tmp_path / ".git").mkdir()
    (tmp_path / "cnnscope.toml").write_text("[budgets\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert "error[bad-config]" in err and "Traceback" not in err


def test_a_pyproject_without_cnnscope_is_not_ours_to_parse(tmp_path: Path) -> None:
    """Another tool's broken pyproject.toml is not a cnnscope config error: with no word of
    cnnscope in it, it cannot hold a [tool.cnnscope] table, and the search goes on upwards."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "cnnscope.toml").write_text("batch = 4\n")
    sub = tmp_path / "pkg"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[project\nname = 'x'\n")  # broken, and not ours
    cfg = find_config(sub)
    assert cfg.path == tmp_path / "cnnscope.toml" and cfg.get("batch") == 4
    (sub / "pyproject.toml").write_text("[tool.cnnscope\nbatch = 2\n")  # broken, and ours
    with pytest.raises(UsageError) as info:
        find_config(sub)
    assert info.value.message.startswith("cannot parse pyproject.toml")
