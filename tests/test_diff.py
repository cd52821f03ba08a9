"""`cnnscope diff`: added / removed / changed layers, deltas, totals, and `--against REV`.

OLD and NEW differ in three ways (hand arithmetic beside each figure):
  conv1 changed: kernel 3->5, padding 1->2 (shape kept 16x32x32)
      params (3·9+1)·16 = 448 -> (3·25+1)·16 = 1,216: +768
      macs 16·32·32·27 = 442,368 -> 16·32·32·75 = 1,228,800: +786,432
  pool removed (16x32x32 -> 16x16x16), conv2 inserted: 16->32, 3x3, pad 1 on 16x32x32
      conv2 params 16·9·32 + 32 = 4,640; macs 32·32·32·144 = 4,718,592
  fc changed by its input: 16·16·16 = 4,096 -> 32·32·32 = 32,768 features
      params 4,096·10 + 10 = 40,970 -> 32,768·10 + 10 = 327,690: +286,720
  totals: params 448 + 40,970 = 41,418 -> 1,216 + 4,640 + 327,690 = 333,546
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cnnscope.cli.main import main

OLD = """\
name: net
input: [3, 32, 32]
layers:
  - {name: conv1, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1}
  - {name: relu1, type: relu}
  - {name: pool, type: maxpool2d, kernel_size: 2}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""
NEW = """\
name: net
input: [3, 32, 32]
layers:
  - {name: conv1, type: conv2d, out_channels: 16, kernel_size: 5, padding: 2}
  - {name: relu1, type: relu}
  - {name: conv2, type: conv2d, out_channels: 32, kernel_size: 3, padding: 1}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""


def _specs(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(NEW)
    return str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")


def diff_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    rc = main(["diff", *args, "--format", "json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_added_removed_changed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old, new = _specs(tmp_path)
    doc = diff_json([old, new], capsys)
    assert doc["summary"] == {"added": 1, "removed": 1, "changed": 3, "unchanged": 1}
    by = {x["name"]: x for x in doc["layers"]}
    assert by["conv2"]["status"] == "added" and by["pool"]["status"] == "removed"
    assert by["relu1"]["status"] == "unchanged"
    assert by["conv1"]["status"] == "changed"
    assert "kernel_size: 3 → 5" in by["conv1"]["changes"] and "padding: 1 → 2" in by["conv1"]["changes"]
    assert by["conv1"]["figures"]["params"] == {"old": 448, "new": 1_216, "delta": 768}
    assert by["conv1"]["figures"]["macs"]["delta"] == 1_228_800 - 442_368
    assert by["conv2"]["figures"]["params"]["new"] == 4_640
    assert by["conv2"]["figures"]["macs"]["new"] == 4_718_592
    assert by["fc"]["status"] == "changed" and by["fc"]["figures"]["params"]["delta"] == 286_720
    assert any("from: pool → conv2" in c for c in by["flatten"]["changes"])
    # order: the new graph's, with the removed layer where it stood
    assert [x["name"] for x in doc["layers"]] == ["conv1", "relu1", "pool", "conv2", "flatten", "fc"]
    t = doc["totals"]["params"]
    assert (t["old"], t["new"], t["delta"]) == (41_418, 333_546, 333_546 - 41_418)
    assert t["percent"] == pytest.approx((333_546 - 41_418) / 41_418 * 100, abs=1e-3)


def test_type_change(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old, _ = _specs(tmp_path)
    swapped = tmp_path / "swap.yaml"
    swapped.write_text(OLD.replace("type: maxpool2d", "type: avgpool2d"))
    doc = diff_json([old, str(swapped)], capsys)
    pool = next(x for x in doc["layers"] if x["name"] == "pool")
    assert pool["status"] == "changed" and pool["changes"] == ["type maxpool2d → avgpool2d"]
    assert doc["summary"]["changed"] == 1 and doc["totals"]["params"]["delta"] == 0


def test_identical_and_exit_code(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old, new = _specs(tmp_path)
    doc = diff_json([old, old], capsys)
    assert doc["summary"]["unchanged"] == 5 and doc["summary"]["changed"] == 0
    assert main(["diff", old, old, "--exit-code"]) == 0
    assert main(["diff", old, new, "--exit-code"]) == 1
    capsys.readouterr()


def test_table_and_markdown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old, new = _specs(tmp_path)
    assert main(["diff", old, new]) == 0
    out = capsys.readouterr().out
    assert "1 added, 1 removed, 3 changed" in out and "+768" in out and "relu1" not in out
    assert main(["diff", old, new, "--all"]) == 0
    assert "relu1" in capsys.readouterr().out
    assert main(["diff", old, new, "-f", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("### cnnscope diff: net → net: 1 added, 1 removed, 3 changed")
    assert "| + | `conv2` | conv2d | added | +4.64 K |" in md
    assert "| - | `pool` | maxpool2d | removed |" in md
    assert "| params | 41.42 K | 333.55 K | +292.13 K |" in md


def test_csv_has_every_layer_and_raw_deltas(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import csv
    import io

    old, new = _specs(tmp_path)
    assert main(["diff", old, new, "-f", "csv"]) == 0
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert list(rows) == ["conv1", "relu1", "pool", "conv2", "flatten", "fc"]  # unchanged ones too
    assert rows["conv1"]["delta_params"] == str(1_216 - 448)  # (3·25+1)·16 - (3·9+1)·16
    assert rows["fc"]["delta_params"] == str(327_690 - 40_970) and rows["relu1"]["status"] == "unchanged"


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old, new = _specs(tmp_path)
    assert main(["diff", old]) == 2
    assert main(["diff", old, new, "--against", "HEAD"]) == 2
    assert main(["diff", old, new, "-f", "yaml"]) == 2
    assert main(["diff", old, str(tmp_path / "missing.yaml")]) == 2
    capsys.readouterr()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_against_git_revision(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    spec = repo / "models" / "net.yaml"
    spec.write_text(OLD)
    git("add", "models/net.yaml")
    git("commit", "-q", "-m", "old")
    spec.write_text(NEW)  # the work tree has the new version
    monkeypatch.chdir(repo)
    doc = diff_json(["models/net.yaml", "--against", "main"], capsys)
    assert doc["summary"] == {"added": 1, "removed": 1, "changed": 3, "unchanged": 1}
    assert doc["old"]["source"] == "models/net.yaml@main"
    assert doc["totals"]["params"]["old"] == 41_418 and doc["totals"]["params"]["new"] == 333_546
    # from a subfolder, and a revision that lacks the file / does not exist -> exit 2
    monkeypatch.chdir(repo / "models")
    assert diff_json(["net.yaml", "--against", "HEAD"], capsys)["summary"]["added"] == 1
    (repo / "models" / "other.yaml").write_text(OLD)
    assert main(["diff", "other.yaml", "--against", "main"]) == 2
    err = capsys.readouterr().err
    assert "error[git-failed]" in err and "at revision `main`" in err
    assert main(["diff", "net.yaml", "--against", "no-such-rev"]) == 2
    capsys.readouterr()


def test_the_python_api_compares_models_and_sources(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import cnnscope

    old, new = _specs(tmp_path)
    d = cnnscope.compare(old, new)
    assert {x.name: x.status for x in d.layers}["conv2"] == "added" and d.totals["params"] == (41_418, 333_546)
    a = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU())
    b = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5), torch.nn.ReLU())
    d = cnnscope.compare(a, b, (1, 3, 16, 16))
    # conv params (3·9+1)·8 = 224 -> (3·25+1)·8 = 608, measured against numel
    assert d.totals["params"] == (sum(p.numel() for p in a.parameters()), sum(p.numel() for p in b.parameters()))
    assert d.totals["params"] == (224, 608) and d.differs
