"""JSON: strict (a figure that is not a finite number is null), one ``schema_version`` for
every document cnnscope writes, and a report's layers one per line (readable, diffable, and
fast on huge graphs)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, TextIO

from cnnscope.analyze.base import Report

if TYPE_CHECKING:
    from cnnscope.render.document import Document

# The version of every JSON document cnnscope writes (reports, checks, diffs, lint, ...):
# raised whenever any of them changes in a way a reader could notice. See CHANGELOG.md.
SCHEMA_VERSION = 2


def report(report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None:
    out.write(report_text(report))


def document(doc: Document, out: TextIO, err: TextIO) -> None:
    out.write(dumps(doc.data))


def versioned(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the schema version first."""
    return {"schema_version": SCHEMA_VERSION, **{k: v for k, v in data.items() if k != "schema_version"}}


def report_data(report: Report) -> dict[str, Any]:
    """A report's JSON document as a dict."""
    return versioned(Report.to_json(report))


def dumps(data: dict[str, Any]) -> str:
    """``data`` (versioned) as indented strict JSON and a newline."""
    doc = versioned(data)
    try:
        return json.dumps(doc, indent=2, allow_nan=False, default=_plain) + "\n"
    except ValueError:  # NaN or infinity somewhere: written as null, not as NaN
        return json.dumps(finite(doc), indent=2, allow_nan=False, default=_plain) + "\n"


def report_text(report: Report) -> str:
    doc = report_data(report)
    try:
        return _layout(doc)
    except ValueError:
        return _layout(finite(doc))


def finite(value: Any) -> Any:
    """``value`` with every float that is not finite replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _layout(doc: dict[str, Any]) -> str:
    parts = []
    for key, value in doc.items():
        if key == "layers" and value:
            rows = ",\n".join("    " + json.dumps(r, separators=(", ", ": "), allow_nan=False) for r in value)
            text = "[\n" + rows + "\n  ]"
        else:
            text = json.dumps(value, indent=2, allow_nan=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
