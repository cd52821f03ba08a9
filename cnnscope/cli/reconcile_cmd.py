"""`reconcile`: which counting conventions (and tools) reproduce a quoted figure."""

from __future__ import annotations

from typing import Annotated, Any

from cnnscope.cli.app import Option, app
from cnnscope.cli.common import FormatOpt, InputOpt, KwargsOpt, SourceArg, check_format, load_graph, positive_batch
from cnnscope.errors import UsageError

SHOWN = 10


def _opt(name: str, what: str) -> Any:
    return Option(name, help=f"the quoted {what}, as printed: 4.1G, 1.82e9, 1,814,073,344", show_default=False)


@app.command(rich_help_panel="Analyze")
def reconcile(
    source: SourceArg,
    flops: Annotated[str | None, _opt("--flops", "FLOPs (1 or 2 per MAC)")] = None,
    macs: Annotated[str | None, _opt("--macs", "MACs (1 per MAC)")] = None,
    params: Annotated[str | None, _opt("--params", "parameter count")] = None,
    batch: Annotated[
        int,
        Option("--batch", "-b", help="also try this batch size (always tries 1)", callback=positive_batch),
    ] = 1,
    top: Annotated[int, Option("--top", help="matches to list")] = SHOWN,
    input: InputOpt = None,
    kwargs: KwargsOpt = None,
    format: FormatOpt = "table",
) -> None:
    """Which counting conventions reproduce a quoted FLOPs / MACs / params figure, and whose they are."""
    check_format(format)
    given = [(k, v) for k, v in (("flops", flops), ("macs", macs), ("params", params)) if v is not None]
    if len(given) != 1:
        raise UsageError("bad-option", "give exactly one of --flops, --macs, --params", hint="e.g. --flops 4.1G")
    if top < 1:
        raise UsageError("bad-option", f"--top must be a positive integer, got {top}")
    kind, text = given[0]
    graph = load_graph(source, input, kwargs)
    from cnnscope.render import emit
    from cnnscope.render.views.reconcile import document
    from cnnscope.whatif.reconcile import reconcile as run

    emit(document(run(graph, kind, text, batch), top), format)
