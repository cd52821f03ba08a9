"""`profile --find-max-batch` output: predicted and measured maximum side by side, every try."""

from __future__ import annotations

import csv
import sys
from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cnnscope.render.layout import console
from cnnscope.render.units import fmt

ERROR_WIDTH = 90


def _plain(v: Any) -> Any:
    return "" if v is None else v


def emit_max_batch(res: Any, fmt_name: str, out: TextIO | None = None) -> None:
    """The predicted and measured maximum side by side, and every try."""
    out = out or sys.stdout
    if fmt_name == "json":
        from cnnscope.render.formats.json import dumps

        out.write(dumps(res.to_json()))
        return
    cols = [("batch", "count"), ("status", "text"), ("peak_bytes", "bytes"), ("predicted_bytes", "bytes")]
    if fmt_name == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow([c for c, _ in cols] + ["error"])
        for t in res.tries:
            w.writerow([_plain(getattr(t, c)) for c, _ in cols] + [_plain(t.error)])
        return
    mode = f"training step ({res.optimizer})" if res.train else "inference"
    ratio = "–" if res.ratio is None else f"{res.ratio:.3f}"
    head = [
        f"{res.model} · {res.device} · {res.dtype} · {mode} · "
        f"limit {fmt(res.limit_bytes, 'bytes')} ({res.limit_source})",
        f"largest batch: predicted {res.predicted_max}, measured {res.measured_max} (measured / predicted = {ratio})",
        f"peak: {res.memory_kind}",
    ]
    rows = [[fmt(getattr(t, c), u) for c, u in cols] + [_short(t.error)] for t in res.tries]
    titles = ["batch", "status", "measured peak", "predicted peak", "error"]
    if fmt_name == "markdown":
        lines = [f"- {h}" for h in head] + ["", "| " + " | ".join(titles) + " |", "|---:|---|---:|---:|---|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
        lines += [""] + [f"> note: {n}" for n in res.notes]
        out.write("\n".join(lines) + "\n")
        return
    con = console(out)
    for h in head:
        con.print(Text(h))
    t = Table(title="tries, in order", header_style="bold")
    for title in titles:
        t.add_column(title, justify="left" if title in ("status", "error") else "right")
    for r in rows:
        t.add_row(*(Text(c) for c in r))
    con.print(t)
    for n in res.notes:
        con.print(f"[dim]note:[/] {escape(n)}")


def _short(text: str | None) -> str:
    if not text:
        return ""
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 1] + "…"
