"""Memory (``cnnscope memory``) as documents: the bytes of every layer with the training
estimate for one step, and (--fit-memory) the largest batch whose predicted peak fits."""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.analyze.memory import BREAKDOWN, FitResult, training_breakdown
from cnnscope.render.document import Block, Document, Field, Table, Text, heading
from cnnscope.render.units import fmt
from cnnscope.render.views import report as shown

PARTS = (Field("part", "part"), Field("bytes", "bytes", "bytes"))
EXACT = (*PARTS, Field("exact", "B", "count"))


def document(report: Report) -> Document:
    """``report``: the memory analysis (``detail=True``): its table, then the training step."""
    batch, dtype, optimizer = report.batch, report.meta.get("dtype"), report.meta.get("optimizer")
    rows = [{"part": label, "bytes": value} for label, value in training_breakdown(report)]
    title = f"training memory, one step ({optimizer}, {dtype}, batch {batch})"
    more: list[Block] = [Text("", "terminal"), heading(title), Table(PARTS, rows, header=False, boxed=False)]
    return shown.document(report, shown.data(report), more=more)


def parts(res: FitResult) -> list[dict[str, Any]]:
    """The peak at the largest batch, part by part (a forward pass keeps no activations: what
    it has at its peak is what is alive at once)."""
    at = res.at_max or {}
    out = []
    for label, key in BREAKDOWN:
        if key in at:
            if not res.train and label == "activations kept":
                label = "activations alive at peak"
            out.append({"batch": res.max_batch, "part": label, "bytes": at[key], "exact": at[key]})
    return out


def fit_document(res: FitResult) -> Document:
    """``res``: ``cnnscope.whatif.fitmem.fit_memory``'s answer."""
    limit = res.limit_bytes
    mode = f"training step ({res.optimizer}, {res.dtype})" if res.train else f"inference ({res.dtype})"
    head = f"largest batch that fits {fmt(limit, 'bytes')} ({limit:,} B), {mode}: {res.max_batch}"
    nxt = f"batch {res.max_batch + 1} would need {fmt(res.next_bytes, 'bytes')} ({res.next_bytes:,} B)"
    rows = parts(res)
    blocks: list[Block] = [heading(f"{res.model}: {head}"), Text(nxt, "bullet", level=1)]
    if rows:
        blocks += [Text(f"at batch {res.max_batch}:"), Table(EXACT, rows, header=False, boxed=False)]
    blocks += [Text(n, "note") for n in res.notes]
    csv = Table((Field("batch", "batch"), Field("part", "part"), Field("bytes", "bytes")), rows)
    return Document(blocks, res.to_json(), csv=csv)
