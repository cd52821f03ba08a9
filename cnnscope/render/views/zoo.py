"""The built-in specs (``cnnscope.zoo``) as a document: one row per spec."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnscope.render.document import NEVER, Document, Field, Table, Text

# which columns stay when the terminal is narrow (higher stays longer)
FIELDS = (
    Field("name", "spec", priority=NEVER, wrap=True, min_width=12),
    Field("input_shape", "input", "shape", priority=80, min_width=10),
    Field("params", "params", "count", priority=90, min_width=10),
    Field("macs", "MACs", "macs", priority=90, min_width=10),
    Field("rf.size", "RF", "dims", priority=70, min_width=10),
    Field("rf.stride", "RF stride", "dims", priority=50, min_width=10),
    Field("rf.layer", "RF at", priority=40, wrap=True, min_width=10),
    Field("title", "architecture", priority=30, wrap=True, min_width=10),
)
CAPTION = "RF: receptive field of the last layer that still maps to an input window (size, stride in input pixels)"


def document(rows: Sequence[dict[str, Any]]) -> Document:
    table = Table(FIELDS, rows, title="built-in specs")
    return Document([table, Text(CAPTION, "caption")], {"specs": list(rows)})
