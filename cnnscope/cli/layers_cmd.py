"""`layers`: the layer types cnnscope knows, with their fields."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated, Any

import typer

from cnnscope.cli.app import app
from cnnscope.cli.common import FormatOpt, check_format, complete_layer_type


def layer_catalog(only: str | None = None) -> list[dict[str, Any]]:
    from cnnscope.layers import lookup, registry

    classes = [lookup(only)] if only else [registry()[k] for k in sorted(registry())]
    out = []
    for cls in classes:
        fields = []
        for f in cls.fields():
            kind = f.metadata.get("kind")
            required = f.default is dataclasses.MISSING
            fields.append(
                {
                    "name": f.name,
                    "accepts": kind.describe(cls.ndim) if kind is not None else "any",
                    "default": None if required else f.default,
                    "required": required,
                    "doc": f.metadata.get("doc", ""),
                }
            )
        out.append(
            {
                "type": cls.type_name,
                "family": cls.family,
                "summary": cls.summary,
                "torch": f"torch.nn.{cls.torch_name}" if cls.torch_name[:1].isupper() else None,
                "inputs": [cls.min_inputs, cls.max_inputs],
                "fields": fields,
            }
        )
    return out


@app.command(rich_help_panel="Reference")
def layers(
    type_name: Annotated[
        str | None,
        typer.Argument(
            metavar="[TYPE]", help="Show one type's fields (e.g. conv2d).", autocompletion=complete_layer_type
        ),
    ] = None,
    format: FormatOpt = "table",
) -> None:
    """The layer types a spec may use, with their fields."""
    check_format(format)
    cat = layer_catalog(type_name)
    if format == "json":
        sys.stdout.write(json.dumps(cat, indent=2, default=list) + "\n")
        return
    if format in ("csv", "markdown"):
        sep = "," if format == "csv" else " | "
        if format == "markdown":
            sys.stdout.write("| type | family | fields | summary |\n|---|---|---|---|\n")
        else:
            sys.stdout.write("type,family,fields,summary\n")
        for c in cat:
            fields = " ".join(
                f["name"] + ("*" if f["required"] else "") for f in c["fields"] if f["name"] != "trainable"
            )
            row = [c["type"], c["family"], fields, c["summary"].replace(",", ";") if format == "csv" else c["summary"]]
            sys.stdout.write(("| " + sep.join(row) + " |" if format == "markdown" else sep.join(row)) + "\n")
        return
    from rich.table import Table
    from rich.text import Text

    from cnnscope.render.table import console

    con = console(sys.stdout)
    if type_name:
        c = cat[0]
        t = Table(title=f"{c['type']} — {c['summary']}", caption=c["torch"] or "", header_style="bold")
        for col in ("field", "accepts", "default", "doc"):
            t.add_column(col)
        for f in c["fields"]:
            default = "required" if f["required"] else json.dumps(f["default"], default=list)
            t.add_row(Text(f["name"]), Text(f["accepts"]), Text(default), Text(f["doc"]))
        con.print(t)
        return
    from cnnscope.render.table import NEVER, Col, fitted_table, hidden_line, width_of

    field_lists = [
        ", ".join(f["name"] + ("*" if f["required"] else "") for f in c["fields"] if f["name"] != "trainable")
        for c in cat
    ]
    cols = [
        Col("type", [c["type"] for c in cat], priority=NEVER, justify="left", wrap=True, min_width=12),
        Col("family", [c["family"] for c in cat], priority=40, justify="left"),
        Col("fields", field_lists, priority=80, justify="left", wrap=True, min_width=24),
        Col("summary", [c["summary"] for c in cat], priority=60, justify="left", wrap=True, min_width=24),
    ]
    t, lay = fitted_table(cols, width_of(con), title="layer types", header_style="bold")
    con.print(t)
    con.print(Text("* required; every type also takes `trainable`", style="dim"))
    if lay.hidden:
        con.print(Text(hidden_line(lay.hidden, lay.needed), style="dim"))
