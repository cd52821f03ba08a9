"""`zoo`: every built-in spec in one table (input, parameters, MACs, final receptive field)."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from typing import Any, TextIO

from cnnscope.cli.app import app
from cnnscope.cli.common import FormatOpt, check_format

# (key into a row, title, unit for render/units.py)
COLUMNS = (
    ("name", "spec", "text"),
    ("input_shape", "input", "shape"),
    ("params", "params", "count"),
    ("macs", "MACs", "macs"),
    ("rf.size", "RF", "dims"),
    ("rf.stride", "RF stride", "dims"),
    ("rf.layer", "RF at", "text"),
    ("title", "architecture", "text"),
)


def _title(path: Any) -> str:
    """The header comment's first phrase: `ResNet-50`, `AlexNet, torchvision's variant`."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("# ").strip()
            return re.split(r" \(|:", text, maxsplit=1)[0].strip().rstrip(",.")
        if line.strip():
            break
    return ""


def final_rf(graph: Any, shapes: Any) -> dict[str, Any]:
    """The receptive field of the last layer that still maps to an input window.

    After global pooling or a linear layer every unit sees the whole input, so a
    classifier's own output says nothing; its backbone's last spatial layer does.
    """
    from cnnscope.analyze.rf import OK, receptive_fields

    fields = receptive_fields(graph, shapes)
    spatial = graph.input_shape[1:]
    last: dict[str, Any] = {"size": None, "stride": None, "padding": None, "layer": None}
    for node in graph.nodes:
        f = fields[node.name]
        if f.status == OK:
            j = f.to_json(spatial)
            last = {"size": j["size"], "stride": j["stride"], "padding": j["padding"], "layer": node.name}
    return last


def zoo_rows() -> list[dict[str, Any]]:
    """One row of plain numbers per built-in spec, sorted by name."""
    from cnnscope.analyze.base import analyze
    from cnnscope.analyze.shapes import infer_shapes
    from cnnscope.frontends.sources import builtin_names, builtin_path, load

    rows = []
    for name in builtin_names():
        graph = load(name)
        report = analyze(graph, ["params", "compute"])
        rows.append(
            {
                "name": name,
                "title": _title(builtin_path(name)),
                "input_shape": list(graph.input_shape),
                "params": report.totals["params"],
                "macs": report.totals["macs"],
                "rf": final_rf(graph, infer_shapes(graph)),
            }
        )
    return rows


@app.command(rich_help_panel="Reference")
def zoo(format: FormatOpt = "table") -> None:
    """The built-in specs: input size, parameters, MACs and final receptive field of each."""
    check_format(format)
    render_zoo(zoo_rows(), format, sys.stdout)


def render_zoo(rows: list[dict[str, Any]], fmt_name: str, out: TextIO) -> None:
    from cnnscope.render.units import fmt, get_path

    if fmt_name == "json":
        out.write(json.dumps({"specs": rows}, indent=2) + "\n")
        return
    if fmt_name == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([k for k, _, _ in COLUMNS])
        for r in rows:
            vals = []
            for k, _, _ in COLUMNS:
                v = get_path(r, k)
                vals.append("x".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v))
            w.writerow(vals)
        out.write(buf.getvalue())
        return
    cells = [[fmt(get_path(r, k), unit) for k, _, unit in COLUMNS] for r in rows]
    if fmt_name == "markdown":
        lines = [
            "| " + " | ".join(t for _, t, _ in COLUMNS) + " |",
            "|" + "|".join("---" if u == "text" else "---:" for _, _, u in COLUMNS) + "|",
        ]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        out.write("\n".join(lines) + "\n")
        return
    from rich.text import Text

    from cnnscope.render.table import NEVER, Col, console, fitted_table, hidden_line, width_of
    from cnnscope.render.units import compact

    con = console(out)
    cols = []
    for j, (key, title, unit) in enumerate(COLUMNS):
        text = unit in ("text", "shape")
        cols.append(
            Col(
                title,
                [row[j] for row in cells],
                compact_cells=None if text else [compact(get_path(r, key), unit) for r in rows],
                priority=NEVER if j == 0 else PRIORITY.get(key, 50),
                wrap=unit == "text",
                min_width=12 if j == 0 else 10,
                justify="left" if text else "right",
            )
        )
    t, lay = fitted_table(cols, width_of(con), title="built-in specs", header_style="bold")
    con.print(t)
    con.print(
        Text(
            "RF: receptive field of the last layer that still maps to an input window (size, stride in input pixels)",
            style="dim",
        )
    )
    if lay.hidden:
        con.print(Text(hidden_line(lay.hidden, lay.needed), style="dim"))


# which columns stay when the terminal is narrow (higher stays longer)
PRIORITY = {"params": 90, "macs": 90, "input_shape": 80, "rf.size": 70, "rf.stride": 50, "rf.layer": 40, "title": 30}
