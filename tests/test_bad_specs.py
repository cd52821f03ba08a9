"""The corpus of bad specs: one file per error kind, each naming its kind and location.

Each file in tests/bad_specs/ starts with ``# expect: <kind> <line>:<col>``. Running
``cnnscope shapes <file>`` must exit 2 with one diagnostic on stderr that names the kind and
points at that line and column, print nothing to stdout, and show no traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnscope.cli.main import main

CORPUS = Path(__file__).parent / "bad_specs"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(rb"^# expect: ([a-z0-9-]+) (\d+):(\d+)\s*$")


def expectation(path: Path) -> tuple[str, int, int]:
    first = path.read_bytes().split(b"\n", 1)[0]
    m = EXPECT.match(first)
    assert m, f"{path.name}: the first line must be `# expect: <kind> <line>:<col>`"
    return m.group(1).decode(), int(m.group(2)), int(m.group(3))


def test_corpus_is_there() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_spec(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kind, line, col = expectation(path)
    code = main(["shapes", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert err.startswith(f"error[{kind}]"), err
    assert f"--> {path}:{line}:{col}\n" in err + "\n", err
    assert "Traceback" not in err
    assert err.count("error[") == 1, err
