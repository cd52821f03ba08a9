"""Feedback while long work runs: a spinner on stderr when stderr is a terminal, nothing when
it is piped or redirected (logs and CI stay clean). The CLI wraps its slow calls (module
capture, verify, the effective receptive field, measured budgets) in :func:`working`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def enabled(stream: TextIO | None = None) -> bool:
    """A spinner only for a person: stderr is a TTY and CNNSCOPE_PROGRESS is not ``0``."""
    if os.environ.get("CNNSCOPE_PROGRESS", "") == "0":
        return False
    return is_tty(stream or sys.stderr)


@contextmanager
def working(message: str, stream: TextIO | None = None) -> Iterator[None]:
    """``with working("capturing torchvision:resnet50"):`` shows a spinner and the elapsed
    time on stderr until the block ends, then clears its line."""
    stream = stream or sys.stderr
    if not enabled(stream):
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    con = Console(file=stream, stderr=True, highlight=False)
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=con,
        transient=True,
    )
    with bar:
        bar.add_task(f"{message}…", total=None)
        yield
