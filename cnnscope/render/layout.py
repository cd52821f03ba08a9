"""Laying out a table in the width a terminal has (rich), and the console that writes it.

A terminal is as wide as it is: :func:`fit_columns` lays a table out in the width it has.
Names are never dropped (they wrap at their dots), numbers are never cut (they switch to
compact units first), and when columns must still go, the least important go first and one
line says which and how to see them. Pipes and files get every column at its natural width,
no hard wraps and no trailing spaces.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cnnscope.render.progress import is_tty

PIPE_WIDTH = 100_000  # pipes and files: a line is as long as its content, never wrapped
NEVER = 10**6  # the priority of a column that is never hidden


class _Rstrip:
    """A text stream that drops the spaces rich pads a line with (pipes must not carry them)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        data = self._pending + text
        lines = data.split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write("\n".join(line.rstrip() for line in lines) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending.rstrip())
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"


def console(stream: TextIO, stderr: bool = False, width: int | None = None) -> Console:
    """A terminal: its own width (or COLUMNS). A pipe or file: no width at all, no padding.
    ``width`` lays out for that many columns whatever the stream (no colour off a terminal)."""
    if is_tty(stream) and width is None:
        return Console(file=stream, stderr=stderr, highlight=False, soft_wrap=False)
    return _PipeConsole(
        file=_Rstrip(stream),  # type: ignore[arg-type]  # a TextIO in all but name
        stderr=stderr,
        highlight=False,
        soft_wrap=False,
        width=width or PIPE_WIDTH,
    )


class _PipeConsole(Console):
    """A console whose stream strips trailing spaces; flushes after every print."""

    def print(self, *args: Any, **kwargs: Any) -> None:
        super().print(*args, **kwargs)
        self.file.flush()


def width_of(con: Console) -> int | None:
    """The columns a table may use; None for a pipe (unlimited)."""
    return None if con.width >= PIPE_WIDTH else con.width


# ---- the layout -------------------------------------------------------------------------


@dataclass
class Col:
    """One column to lay out: full cells, and compact ones for a narrow terminal."""

    title: str
    cells: list[str]
    footer: str = ""
    compact_cells: list[str] | None = None
    compact_footer: str | None = None
    priority: int = 50
    wrap: bool = False  # text that may wrap (names, prose); numbers never do
    min_width: int = 8  # the narrowest a wrapping column is made before columns are hidden
    max_width: int | None = None  # the widest a wrapping column is made, whatever the room
    justify: str = "right"
    styles: list[str] | None = None  # a terminal style per cell ("" for none)


@dataclass
class Layout:
    """Which columns of a table fit the terminal, at what widths, and which are left out."""

    shown: list[int]  # indices into the columns, in their order
    widths: dict[int, int]
    compact: bool
    hidden: list[str]  # titles of the columns left out
    needed: int  # the width every column would need (compact numbers)


def _natural(col: Col, compact_: bool) -> int:
    cells = col.compact_cells if compact_ and col.compact_cells is not None else col.cells
    foot = col.compact_footer if compact_ and col.compact_footer is not None else col.footer
    lines = [ln for c in [*cells, foot] for ln in c.split("\n")]
    words = col.title.split() or [""]
    title_w = max(len(w) for w in words) if compact_ else len(col.title)
    natural = max([len(ln) for ln in lines] + [title_w, 1])
    return min(natural, col.max_width) if col.wrap and col.max_width else natural


def table_width(widths: Sequence[int]) -> int:
    """A rich table's width with the default box and one space of padding per side."""
    return sum(widths) + 3 * len(widths) + 1


def fit_columns(cols: Sequence[Col], width: int | None) -> Layout:
    n = len(cols)
    full = {i: _natural(c, False) for i, c in enumerate(cols)}
    if width is None or table_width(list(full.values())) <= width:
        return Layout(list(range(n)), full, False, [], table_width(list(full.values())))
    nat = {i: _natural(c, True) for i, c in enumerate(cols)}
    needed = table_width(list(nat.values()))
    soft = {i: min(nat[i], cols[i].min_width) if cols[i].wrap else nat[i] for i in nat}
    shown = list(range(n))
    # drop the least important (rightmost among equals) until the soft minimum fits
    order = sorted((i for i in shown if cols[i].priority < NEVER), key=lambda i: (cols[i].priority, -i))
    while table_width([soft[i] for i in shown]) > width and order:
        shown.remove(order.pop(0))
    widths = {i: soft[i] for i in shown}
    # give the room left back to the wrapping columns, most important first
    room = width - table_width(list(widths.values()))
    for i in sorted((i for i in shown if cols[i].wrap), key=lambda i: (-cols[i].priority, i)):
        extra = min(room, nat[i] - widths[i])
        if extra > 0:
            widths[i] += extra
            room -= extra
    # then to headers that would otherwise wrap (``output shape`` on one line)
    for i in sorted(shown, key=lambda i: (-cols[i].priority, i)):
        extra = min(room, len(cols[i].title) - widths[i])
        if extra > 0:
            widths[i] += extra
            room -= extra
    hidden = [cols[i].title for i in range(n) if i not in shown]
    return Layout(shown, widths, True, hidden, needed)


_BREAK = re.compile(r"(?<=[._/\-, ])")


def wrap_name(text: str, width: int) -> str:
    """Wrap a dotted name at its dots (``layer4.1.`` / ``downsample.0``), prose at its spaces,
    else fold it."""
    if len(text) <= width or width < 1:
        return text
    lines: list[str] = []
    cur = ""
    for part in _BREAK.split(text):
        while len(part) > width:  # a piece longer than the column: fold it
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(part[:width])
            part = part[width:]
        if len(cur) + len(part) > width:
            lines.append(cur)
            cur = part
        else:
            cur += part
    if cur:
        lines.append(cur)
    return "\n".join(line.rstrip() for line in lines if line.strip())


def _wrap_words(text: str, width: int) -> str:
    """A header that wraps between its words (``MAC`` / ``share``) rather than being cut."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def hidden_line(hidden: Sequence[str], needed: int) -> str:
    return (
        f"hidden to fit the terminal: {', '.join(hidden)} "
        f"(COLUMNS={needed} or a wider terminal shows {'it' if len(hidden) == 1 else 'them'}; "
        "so do a pipe and --format csv)"
    )


def fitted_table(cols: Sequence[Col], width: int | None, **table_args: Any) -> tuple[Table, Layout]:
    """A rich Table of ``cols`` laid out for ``width`` columns (None: unlimited)."""
    lay = fit_columns(cols, width)
    rows = len(cols[0].cells) if cols else 0
    t = Table(**table_args)
    show_footer = table_args.get("show_footer", False)
    for i in lay.shown:
        c = cols[i]
        foot = c.compact_footer if lay.compact and c.compact_footer is not None else c.footer
        w = lay.widths[i]
        t.add_column(
            _wrap_words(c.title, w),
            footer=wrap_name(foot, w) if (c.wrap and show_footer) else foot,
            justify=c.justify,  # type: ignore[arg-type]
            no_wrap=not c.wrap,
            width=w,
            min_width=w,
            max_width=w,
            overflow="fold",
        )
    for r in range(rows):
        cells = []
        for i in lay.shown:
            c = cols[i]
            use = c.compact_cells if lay.compact and c.compact_cells is not None else c.cells
            text = use[r]
            style = c.styles[r] if c.styles is not None else ""
            cells.append(Text(wrap_name(text, lay.widths[i]) if c.wrap else text, style=style))
        t.add_row(*cells)
    return t, lay


def terminal_columns(stream: TextIO) -> int | None:
    """The width a chart may fill: the terminal's (or COLUMNS) on a TTY, None for a pipe."""
    if not is_tty(stream):
        return None
    env = os.environ.get("COLUMNS", "")
    if env.isdigit():
        return int(env)
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80
