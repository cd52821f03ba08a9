"""What a person sees in a real terminal (a pty at 80, 120 and 200 columns) and in a pipe.

Each test runs the real `cnnscope` process with a pseudo-terminal as stdout and stderr whose
window size is set with TIOCSWINSZ, strips the colour codes and asserts on the text: no line
wider than the terminal, layer names never dropped, numbers never cut, hidden columns named.
Pipes: no hard wraps and no trailing spaces.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

pty = pytest.importorskip("pty")
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")

import struct  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
CLI = [sys.executable, "-m", "cnnscope"]
WIDTHS = (80, 120, 200)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "CNNSCOPE_PROGRESS")}
    env.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8", **extra)
    return env


def in_pty(args: list[str], cols: int, rows: int = 50, timeout: float = 120.0, **env: str) -> tuple[int, str]:
    """Run ``cnnscope args`` on a pty of ``cols`` x ``rows``; (exit code, what the screen got)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(
        [*CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=_env(**env), close_fds=True, cwd=Path.cwd()
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"cnnscope {' '.join(args)} did not finish in {timeout} s")
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the pty
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            # drain what is left
            try:
                while select.select([master], [], [], 0.05)[0]:
                    data = os.read(master, 65536)
                    if not data:
                        break
                    chunks.append(data)
            except OSError:
                pass
            break
    os.close(master)
    rc = proc.wait()
    return rc, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def piped(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=_env(), timeout=120, check=False)


def _too_wide(text: str, cols: int) -> list[str]:
    return [line for line in text.splitlines() if len(line) > cols]


@pytest.mark.parametrize("cols", WIDTHS)
def test_summary_fits_the_terminal(cols: int) -> None:
    rc, screen = in_pty(["summary", "resnet18"], cols)
    assert rc == 0, screen
    assert not _too_wide(screen, cols)
    header = next(line for line in screen.splitlines() if "layer" in line and "type" in line)
    assert "output" in header and "params" in header  # the layer, type and shape columns are kept
    assert "…" not in screen  # nothing is cut
    flat = screen.replace("\n", "")
    for name in ("conv1", "layer1.0.conv1", "avgpool", "fc"):
        assert name in screen
    assert "downsample" in flat  # layer2.0.downsample.0 is wrapped at its dots, never dropped
    if cols < 200:
        assert "hidden to fit the terminal" in screen and "COLUMNS=" in screen
    else:
        assert "hidden" not in screen and "11,689,512" in screen  # wide enough for the exact figures


@pytest.mark.parametrize("cols", WIDTHS)
def test_flops_keeps_layer_and_type(cols: int) -> None:
    rc, screen = in_pty(["flops", "resnet18"], cols)
    assert rc == 0, screen
    assert not _too_wide(screen, cols)
    header = next(line for line in screen.splitlines() if "layer" in line)
    assert "type" in header and "MACs" in header
    assert "…" not in screen
    assert re.search(r"│ conv1 +│ conv2d +│", screen)


@pytest.mark.parametrize("cols", WIDTHS)
def test_zoo_keeps_its_numbers(cols: int) -> None:
    rc, screen = in_pty(["zoo"], cols)
    assert rc == 0, screen
    assert not _too_wide(screen, cols)
    assert "…" not in screen
    assert "resnet152" in screen and "regnet_y_400mf" in screen
    row = next(line for line in screen.splitlines() if "│ vgg16 " in line)
    assert "138" in row  # 138,357,544 or 138 M, never `138,3…`


@pytest.mark.parametrize("cols", WIDTHS)
def test_rf_chart_fits(cols: int) -> None:
    rc, screen = in_pty(["rf", "resnet18"], cols)
    assert rc == 0, screen
    assert not _too_wide(screen, cols)
    chart = screen[screen.index("receptive-field growth") :]
    assert "layer4.1.conv2" in chart and "435×435" in chart
    assert "downsample" not in chart  # side branches do not make the growth dip


def test_help_wraps_cleanly_at_80() -> None:
    rc, screen = in_pty(["--help"], 80)
    assert rc == 0
    assert not _too_wide(screen, 80)
    lines = screen.splitlines()
    # a paragraph never breaks after a short line in the middle (the docstrings' own line breaks)
    explain = next(i for i, line in enumerate(lines) if "│ explain" in line)
    assert "receptive field" in lines[explain + 1]
    rc, screen = in_pty(["summary", "--help"], 80)
    assert "built-in spec name" in screen and "resnet18" in screen  # what SOURCE may be, with an example
    assert not _too_wide(screen, 80)


def test_a_pipe_has_no_hard_wraps_and_no_trailing_spaces() -> None:
    for args in (["summary", "resnet50"], ["explain", "cs231n-conv"], ["rf", "resnet18"], ["zoo"], ["fit", "lenet5"]):
        out = piped(args)
        assert out.returncode == 0, out.stderr
        assert not [line for line in out.stdout.splitlines() if line != line.rstrip()], args
    note = next(line for line in piped(["summary", "resnet18"]).stdout.splitlines() if "training memory (" in line)
    assert note.rstrip().endswith("not counted")  # the whole note on one line, not cut at 240


def test_spinner_only_on_a_terminal() -> None:
    code = "from cnnscope.render.progress import working\nimport time\nwith working('capturing x'):\n time.sleep(0.6)\n"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=slave, stderr=slave, env=_env())
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    proc.wait()
    os.close(master)
    assert "capturing x" in data.decode("utf-8", "replace")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True)
    assert out.stderr == "" and out.stdout == ""  # nothing when piped
