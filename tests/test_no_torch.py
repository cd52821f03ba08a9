"""The analytic path on a YAML spec never imports torch (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = (
    "import sys\n"
    "from cnnscope.cli.main import main\n"
    "code = main({argv!r})\n"
    "assert code == 0, code\n"
    "leaked = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
    "assert not leaked, leaked[:5]\n"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", "resnet18", "-f", "json"],
        ["shapes", "resnet18", "-f", "json"],
        ["params", "lenet5", "-f", "csv"],
        ["shapes", "cs231n-conv"],
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_analytic_path_does_not_import_torch(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(argv=argv)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip(), "the command printed nothing"


def test_the_check_can_fail() -> None:
    # the same harness notices a torch import (so the tests above are not vacuous)
    script = SCRIPT.format(argv=["shapes", "lenet5", "-f", "json"]).replace(
        "from cnnscope.cli.main import main\n", "from cnnscope.cli.main import main\nimport torch.nn\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "torch" in proc.stderr
