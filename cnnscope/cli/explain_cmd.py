"""`explain`: every layer's formulas with the numbers filled in."""

from __future__ import annotations

from typing import Annotated

from cnnscope.cli.app import Option, app
from cnnscope.cli.common import BatchOpt, FormatOpt, InputOpt, KwargsOpt, SourceArg, check_format, load_graph


@app.command(rich_help_panel="Learn")
def explain(
    source: SourceArg,
    layer: Annotated[str | None, Option("--layer", "-l", help="explain only this layer", show_default=False)] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    why: Annotated[bool, Option("--why/--no-why", help="a short reason under each step")] = True,
    kwargs: KwargsOpt = None,
) -> None:
    """Each layer's formulas with the numbers filled in: output size, parameters, MACs,
    receptive field, and what weight sharing saves over a fully connected layer."""
    from cnnscope.learn.explain import explain as run
    from cnnscope.render import emit
    from cnnscope.render.views.explain import document

    check_format(format)
    graph = load_graph(source, input, kwargs)
    emit(document(graph, run(graph, batch, layer), batch, why), format)
