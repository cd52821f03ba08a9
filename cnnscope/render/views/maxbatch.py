"""`profile --find-max-batch` as a document: the predicted and the measured largest batch
side by side, then every try in the order it ran."""

from __future__ import annotations

from typing import Any

from cnnscope.render.document import Block, Document, Field, Table, Text, heading
from cnnscope.render.units import fmt

ERROR_WIDTH = 90  # a failed try's error, cut to this many characters in the tries table

TRIES = (
    Field("batch", "batch", "count"),
    Field("status", "status"),
    Field("peak_bytes", "measured peak", "bytes"),
    Field("predicted_bytes", "predicted peak", "bytes"),
    Field("error", "error", wrap=True, max_width=ERROR_WIDTH),
)
RAW = tuple(Field(f.key, f.key, f.unit) for f in TRIES)  # csv: the keys, whole errors


def document(res: Any) -> Document:
    """``res``: :class:`cnnscope.profile.maxbatch.MaxBatchResult`."""
    mode = f"training step ({res.optimizer})" if res.train else "inference"
    ratio = "–" if res.ratio is None else f"{res.ratio:.3f}"
    rows = [
        {
            "batch": t.batch,
            "status": t.status,
            "peak_bytes": t.peak_bytes,
            "predicted_bytes": t.predicted_bytes,
            "error": t.error or "",
        }
        for t in res.tries
    ]
    shown = [{**r, "error": _short(r["error"])} for r in rows]
    blocks: list[Block] = [
        heading(f"{res.model}: the largest batch that fits"),
        Text(
            f"{res.device} · {res.dtype} · {mode} · limit {fmt(res.limit_bytes, 'bytes')} ({res.limit_source})",
            "bullet",
        ),
        Text(
            f"largest batch: predicted {res.predicted_max}, measured {res.measured_max} "
            f"(measured / predicted = {ratio})",
            "bullet",
        ),
        Text(f"peak: {res.memory_kind}", "bullet"),
        Table(TRIES, shown, title="tries, in order"),
        *(Text(n, "note") for n in res.notes),
    ]
    return Document(blocks, res.to_json(), csv=Table(RAW, rows))


def _short(text: str) -> str:
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 1] + "…"
