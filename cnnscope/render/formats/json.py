"""JSON: strict (a figure that is not a finite number is null), one ``schema_version`` for
every document cnnscope writes, and one layout for all of them: the top-level keys indented,
and a top-level list of records (a report's layers, explain's layers, the zoo's specs...) one
record per line. That is readable and diffable, and every line is written by ``json``'s C
encoder (``indent`` would send the whole document through its pure-Python one, several times
slower on explain's half-megabyte document)."""

from __future__ import annotations

import json
import json.encoder
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
    """``data`` (versioned) as strict JSON in the house layout, and a newline."""
    doc = versioned(data)
    try:
        return _layout(doc)
    except ValueError:  # NaN or infinity somewhere: written as null, not as NaN
        return _layout(finite(doc))


def report_text(report: Report) -> str:
    return dumps(Report.to_json(report))


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


# one C encoder, made once and called per record (JSONEncoder.encode makes a new one per call)
_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
if _C_ENCODER is not None:
    _row_chunks = _C_ENCODER(None, _plain, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, False)

    def _row(value: Any) -> str:
        return "".join(_row_chunks(value, 0))  # no cycle check: a document is a tree

else:  # pragma: no cover - a Python without the _json accelerator
    _row = json.JSONEncoder(separators=(", ", ": "), allow_nan=False, default=_plain).encode  # type: ignore[assignment]
_BLOCK = json.JSONEncoder(indent=2, allow_nan=False, default=_plain).encode


def _layout(doc: dict[str, Any]) -> str:
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            text = "[\n" + ",\n".join("    " + _row(r) for r in value) + "\n  ]"
        else:
            text = _BLOCK(value).replace("\n", "\n  ")
        parts.append(f"  {_row(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"
