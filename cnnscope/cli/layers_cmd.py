"""`layers`: the layer types cnnscope knows, with their fields."""

from __future__ import annotations

from typing import Annotated

from cnnscope.cli.app import Argument, app
from cnnscope.cli.common import FormatOpt, check_format, complete_layer_type


@app.command(rich_help_panel="Reference")
def layers(
    type_name: Annotated[
        str | None,
        Argument(metavar="[TYPE]", help="Show one type's fields (e.g. conv2d).", autocompletion=complete_layer_type),
    ] = None,
    format: FormatOpt = "table",
) -> None:
    """The layer types a spec may use, with their fields."""
    from cnnscope.render import emit
    from cnnscope.render.views.layers import document, layer_catalog

    check_format(format)
    emit(document(layer_catalog(type_name), one=type_name is not None), format)
