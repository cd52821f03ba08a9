"""`diff`: what changed between two architectures, per layer and in total (``cnnscope.diff``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cnnscope.cli.app import Argument, Option, app
from cnnscope.cli.common import BatchOpt, FormatOpt, InputOpt, check_format, load_graph, parse_input
from cnnscope.errors import UsageError


@app.command(rich_help_panel="CI")
def diff(
    old: Annotated[str, Argument(help="the old spec or source (with --against: the spec file)", show_default=False)],
    new: Annotated[str | None, Argument(help="the new spec or source", show_default=False)] = None,
    against: Annotated[
        str | None,
        Option("--against", metavar="REV", help="compare the file with itself at a git revision", show_default=False),
    ] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    all_layers: Annotated[bool, Option("--all", help="list unchanged layers too")] = False,
    exit_code: Annotated[bool, Option("--exit-code", help="exit 1 when the architectures differ")] = False,
    output: Annotated[
        Path | None,
        Option(
            "--output",
            "-o",
            help="also draw the union of both graphs, changes marked (.html .svg .png .dot .mmd)",
            show_default=False,
        ),
    ] = None,
) -> int:
    """What changed between two architectures: layers added, removed, changed; deltas and totals."""
    from cnnscope.diff import diff_graphs, load_at_revision
    from cnnscope.draw.diffview import changes_mermaid, diff_picture
    from cnnscope.render import emit
    from cnnscope.render.views.diff import document

    check_format(format)
    draw_fmt = None
    if output is not None:
        from cnnscope.cli.draw_cmd import check_writable, output_format

        draw_fmt = output_format(output, None)
        check_writable(output)
    if against is not None:
        if new is not None:
            raise UsageError(
                "bad-usage",
                "give one spec with --against REV, or two specs without it",
                hint="cnnscope diff net.yaml --against main",
            )
        g_old = load_at_revision(old, against, parse_input(input))
        g_new = load_graph(old, input)
    else:
        if new is None:
            raise UsageError(
                "bad-usage",
                "diff needs two specs, or one spec and --against REV",
                hint="cnnscope diff old.yaml new.yaml  |  cnnscope diff net.yaml --against main",
            )
        g_old, g_new = load_graph(old, input), load_graph(new, input)
    d = diff_graphs(g_old, g_new, batch)
    if output is not None and draw_fmt is not None:
        from cnnscope.cli.draw_cmd import emit as write_drawing
        from cnnscope.draw import render as draw

        write_drawing(output, draw(diff_picture(d, g_old, g_new, batch), draw_fmt, batch=batch), draw_fmt)
    picture = changes_mermaid(d, g_old, g_new, batch) if format == "markdown" else None
    emit(document(d, all_layers, picture), format)
    return 1 if exit_code and d.differs else 0
