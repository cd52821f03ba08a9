"""The layer catalog (``cnnscope layers``): every registered type with its fields, or one
type's fields in full."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from cnnscope.layers.base import Layer
from cnnscope.render.document import NEVER, Document, Field, Table, Text


def layer_catalog(only: str | None = None) -> list[dict[str, Any]]:
    """Each type (or only ``only``, refused with close names when unknown) as plain data."""
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
                "torch": torch_class(cls),
                "inputs": [cls.min_inputs, cls.max_inputs],
                "fields": fields,
            }
        )
    return out


def document(catalog: list[dict[str, Any]], one: bool = False) -> Document:
    """The catalog as a document; ``one``: a single type, every field with its default and doc."""
    data = {"layers": catalog}
    if one:
        c = catalog[0]
        rows = [
            {**f, "shown_default": "required" if f["required"] else json.dumps(f["default"], default=list)}
            for f in c["fields"]
        ]
        fields = (
            Field("name", "field", priority=NEVER),
            Field("accepts", "accepts", wrap=True, min_width=16, priority=80),
            Field("shown_default", "default", priority=70),
            Field("doc", "doc", wrap=True, min_width=24, priority=60),
        )
        table = Table(fields, rows, title=f"{c['type']} — {c['summary']}", caption=c["torch"] or None)
        return Document([table], data)
    rows = [
        {
            "type": c["type"],
            "family": c["family"],
            "fields": ", ".join(
                f["name"] + ("*" if f["required"] else "") for f in c["fields"] if f["name"] != "trainable"
            ),
            "summary": c["summary"],
        }
        for c in catalog
    ]
    fields = (
        Field("type", "type", priority=NEVER, wrap=True, min_width=12),
        Field("family", "family", priority=40),
        Field("fields", "fields", priority=80, wrap=True, min_width=24),
        Field("summary", "summary", priority=60, wrap=True, min_width=24),
    )
    note = Text("* required; every type also takes `trainable`", "caption")
    return Document([Table(fields, rows, title="layer types"), note], data)


def torch_class(cls: Any) -> str | None:
    """The torch module the type builds: ``torch.nn.<name>``, or cnnscope's own where torch.nn
    has no class for it (``torch_home``: ``cnnscope.layers._compare_torch.Compare``)."""
    if not cls.torch_name[:1].isupper() or cls.to_torch is not Layer.to_torch:
        return None  # no torch class, or a module the type makes its own way (not one class to name)
    home = f"cnnscope.layers.{cls.torch_home}" if cls.torch_home else "torch.nn"
    return f"{home}.{cls.torch_name}"
