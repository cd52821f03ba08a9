"""`export` (a model -> an editable YAML spec) and `verify` (analytic figures vs torch)."""

from __future__ import annotations

import sys
from typing import Annotated

from cnnscope.cli.app import Option, app
from cnnscope.cli.common import InputOpt, KwargsOpt, SourceArg, check_format, load_graph, parse_input, source_command


@app.command(rich_help_panel="Modules")
def export(
    source: SourceArg,
    input: InputOpt = None,
    kwargs: KwargsOpt = None,
    flat: Annotated[bool, Option("--flat", help="one entry per layer, no blocks")] = False,
) -> None:
    """Write the model as a YAML spec on stdout (its layer names; blocks where it repeats itself)."""
    from cnnscope.export import export_yaml

    sys.stdout.write(export_yaml(load_graph(source, input, kwargs), flat=flat))


def _verify(source: str, input: list[str] | None, batch: int, format: str, kwargs: str | None) -> int:
    from cnnscope.render import emit
    from cnnscope.render.progress import working
    from cnnscope.render.views.verify import document
    from cnnscope.verify import verify as run_verify

    check_format(format)
    with working(f"verifying {source}: one real forward pass against every analytic figure"):
        graph, checks = run_verify(source, parse_input(input), kwargs, batch)
    emit(document(graph, checks), format)
    return 0 if all(c.ok for c in checks) else 1


verify = source_command(
    __name__,
    "verify",
    "Run one real forward pass and compare every analytic figure with torch's (exit 1 on a mismatch).",
    _verify,
    "Modules",
)
