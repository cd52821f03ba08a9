"""The report the Python API returns (:class:`ModelReport`): an analysis
:class:`~cnnscope.analyze.base.Report` that shows itself as the CLI's table in a terminal and
as HTML in a notebook, and hands its figures on as a dict, JSON or a DataFrame."""

from __future__ import annotations

import json
import sys
from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.errors import UsageError
from cnnscope.graph import Graph


class ModelReport(Report):
    """A :class:`~cnnscope.analyze.base.Report` that shows itself: ``print(r)`` is the CLI's
    table at the terminal's width, a notebook cell shows HTML, ``to_dict`` / ``to_json`` /
    ``to_pandas`` hand the figures on."""

    graph: Graph | None = None
    title: str | None = None
    include_drawing: bool = False

    # --- data ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--format json`` document as a dict (``schema_version``, layers, totals, ...)."""
        from cnnscope.render.formats.json import report_data

        return report_data(self)

    def to_json(self, indent: int | None = 2) -> str:  # type: ignore[override]
        """The same document as a JSON string (``Report.to_json`` gives the dict)."""
        if indent == 2:
            from cnnscope.render import to_json

            return to_json(self)
        return json.dumps(self.to_dict(), indent=indent)

    def to_pandas(self) -> Any:
        """One DataFrame row per layer, one column per table column (raw numbers, not text);
        needs pandas."""
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise UsageError(
                "missing-extra", "to_pandas() needs pandas, which is not installed", hint="pip install pandas"
            ) from None
        from cnnscope.render.units import get_path

        data = [{c.key: get_path(row, c.key) for c in self.columns} for row in self.rows]
        return pd.DataFrame(data, columns=[c.key for c in self.columns]).set_index("name")

    # --- display ------------------------------------------------------------------------

    def to_text(self, width: int | None = None) -> str:
        """The table as text for ``width`` columns (default: this terminal's; None in a pipe: all)."""
        from cnnscope.render.table import to_text

        return to_text(self, width if width is not None else _terminal_width(), self.title)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from cnnscope.render.table import renderables

        yield from renderables(self, options.max_width, self.title)

    def _repr_html_(self) -> str:
        from cnnscope.render.html import to_html

        html = to_html(self, self.title)
        if self.include_drawing:
            html += drawing_html(self)
        return html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.to_text(120), "text/html": self._repr_html_()}


def drawing_html(report: Report) -> str:
    """The layer graph drawn (cnnscope.draw), folded under a ``<details>``; empty when the
    drawing module is not there."""
    try:
        from cnnscope.draw import to_html as draw_html
    except ImportError:  # the hook: cnnscope.draw.to_html(report_or_graph, embed=True)
        return ""
    try:
        frame = draw_html(report, embed=True)
    except Exception as exc:  # a drawing must never hide the table
        return f"<p>(drawing unavailable: {type(exc).__name__})</p>"
    return f"<details><summary>drawing</summary>{frame}</details>"


def _terminal_width() -> int | None:
    import shutil

    if not sys.stdout.isatty():
        return None  # a pipe, a file, a notebook's print(): every column, as the CLI does
    return shutil.get_terminal_size().columns
