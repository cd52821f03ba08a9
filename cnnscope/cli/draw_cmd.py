"""`draw`: the network drawn, with its numbers on it (HTML, SVG, PNG, DOT, Mermaid).

Also the file writing that ``diff -o`` shares: the format follows the output's suffix
(``--format`` overrides it), the path is checked before any work, and the file is written
to a temporary name beside it and renamed, so a failure never leaves half a file.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

from cnnscope.cli.app import Option, app
from cnnscope.cli.common import BatchOpt, InputOpt, KwargsOpt, SourceArg, check_choice, load_graph
from cnnscope.errors import UsageError

DRAW_FORMATS = ("html", "svg", "png", "dot", "mermaid")
SUFFIXES = {
    ".html": "html",
    ".htm": "html",
    ".svg": "svg",
    ".png": "png",
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
}
MEASURES = ("macs", "params", "activations")

OutputOpt = Annotated[
    Path | None,
    Option(
        "--output", "-o", help="write here; the suffix picks the format (.html .svg .png .dot .mmd)", show_default=False
    ),
]


def output_format(output: Path | None, fmt: str | None, allowed: tuple[str, ...] = DRAW_FORMATS) -> str:
    """The format to write: ``--format``, else the suffix of ``--output``, else html."""
    if fmt is not None:
        return check_choice("--format", fmt, allowed)
    if output is None:
        return "html"
    suffix = output.suffix.lower()
    if suffix not in SUFFIXES or SUFFIXES[suffix] not in allowed:
        known = ", ".join(s for s, f in SUFFIXES.items() if f in allowed)
        raise UsageError(
            "bad-output",
            f"cannot tell the format of `{output}` from its suffix `{suffix or '(none)'}`",
            hint=f"use one of {known}, or give --format",
        )
    return SUFFIXES[suffix]


def check_writable(output: Path) -> None:
    """Fail before any work when ``output`` cannot be written."""
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise UsageError("bad-output", f"cannot write `{output}`: it is a directory")
    if not folder.is_dir():
        raise UsageError("bad-output", f"cannot write `{output}`: the directory `{folder}` does not exist")
    if not os.access(folder, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise UsageError("bad-output", f"cannot write `{output}`: permission denied")


def write_atomic(output: Path, data: str | bytes) -> None:
    """Write to a temporary file beside ``output``, then rename: never a partial file."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    folder = output.parent if str(output.parent) else Path(".")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
        tmp = None
    except OSError as exc:
        raise UsageError("bad-output", f"cannot write `{output}`: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def emit(output: Path | None, data: str | bytes, fmt: str) -> None:
    if output is not None:
        write_atomic(output, data)
        print(
            f"wrote {output} ({fmt}, {len(data.encode() if isinstance(data, str) else data):,} bytes)", file=sys.stderr
        )
    elif isinstance(data, bytes):
        if sys.stdout.isatty():
            raise UsageError("bad-output", "a PNG is binary: give -o FILE.png or redirect stdout")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        sys.stdout.write(data)


@app.command("draw", rich_help_panel="Analyze")
def draw(
    source: SourceArg,
    output: OutputOpt = None,
    format: Annotated[
        str | None, Option("--format", "-f", help="html | svg | png | dot | mermaid", show_default=False)
    ] = None,
    colour: Annotated[
        str, Option("--colour", "--color", help="colour boxes by their share of: macs | params | activations")
    ] = "macs",
    no_fold: Annotated[bool, Option("--no-fold", help="draw every layer; do not fold repeated blocks")] = False,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    kwargs: KwargsOpt = None,
) -> None:
    """The layer graph drawn with shapes, params, MACs and receptive fields; repeated blocks folded."""
    fmt = output_format(output, format)
    check_choice("--colour", colour, MEASURES)
    if output is not None:
        check_writable(output)
    if fmt in ("html", "svg", "png"):
        from cnnscope.draw.layout import dot_binary

        dot_binary()  # before loading: say what to install first
    graph = load_graph(source, input, kwargs)
    from cnnscope.draw import render
    from cnnscope.draw.model import from_graph

    pic = from_graph(graph, batch, with_explain=fmt == "html")
    emit(output, render(pic, fmt, colour, not no_fold, batch), fmt)
