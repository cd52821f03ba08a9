"""`zoo`: every built-in spec in one table (input, parameters, MACs, final receptive field)."""

from __future__ import annotations

from cnnscope.cli.app import app
from cnnscope.cli.common import FormatOpt, check_format


@app.command(rich_help_panel="Reference")
def zoo(format: FormatOpt = "table") -> None:
    """The built-in specs: input size, parameters, MACs and final receptive field of each."""
    from cnnscope.render import emit
    from cnnscope.render.views.zoo import document
    from cnnscope.zoo import zoo_rows

    check_format(format)
    emit(document(zoo_rows()), format)
