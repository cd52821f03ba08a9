"""A budget check (``cnnscope.gate``) as a document: the budgets table, one diagnostic per
exceeded budget, how measured figures were taken, and the verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnnscope.diagnostics import Diagnostic
from cnnscope.gate.evaluate import BudgetResult, ModelCheck
from cnnscope.render.document import NEVER, Document, Field, Table, Text, heading
from cnnscope.render.units import human, percent, plural


def delta_text(r: BudgetResult) -> str:
    """``+1.71 K (+2.8%)`` over a max_ budget; ``-3.2 K`` short of a min_ one; headroom otherwise."""
    if r.ok:
        return f"{human(r.headroom, r.unit)} left"
    sign = "+" if r.budget.kind == "max" else "-"
    pct = f" ({sign}{percent(r.over_pct / 100)})" if r.over_pct is not None else ""
    return f"{sign}{human(r.over, r.unit)}{pct}"


def basis_text(figure: str, m: Mapping[str, Any] | None) -> str | None:
    """How a measured figure was taken: ``median over 412 forward passes (40 timed blocks) on
    cpu, float32, 4 threads, batch 1``; None for an analytic figure."""
    stat = {
        "latency_ms": m["statistic"] if m else "",
        "latency_median_ms": "median",
        "latency_p90_ms": "p90",
        "throughput_per_s": "batch / median latency",
        "peak_memory_bytes": "peak memory",
    }.get(figure)
    if m is None or stat is None:
        return None
    return (
        f"{stat} over {m['iters']} forward passes ({m['samples']} timed blocks) on {_device(m)}, "
        f"{m['dtype']}, {plural(m['threads'], 'thread')}, batch {m['batch']}"
        + (f"; {m['memory_kind']}" if figure == "peak_memory_bytes" else "")
    )


def _device(m: Mapping[str, Any]) -> str:
    return str(m["device"]) if m["device_name"] == m["device"] else f"{m['device']} ({m['device_name']})"


def measurement_line(m: Mapping[str, Any]) -> str:
    """How the measured figures of one model were taken."""
    return (
        f"measured on {_device(m)}, {m['dtype']}, {plural(m['threads'], 'thread')}, batch {m['batch']}: "
        f"{m['samples']} timed blocks, {m['iters']} forward passes ({m['timer']}); "
        f"latency_ms is the {m['statistic']}"
    )


def failure_message(
    r: BudgetResult, measurement: Mapping[str, Any] | None = None, with_layers: bool = True, with_model: bool = True
) -> str:
    """One readable sentence: model, figure, actual, budget, by how much, largest layers."""
    where = "over" if r.budget.kind == "max" else "under"
    sign = "+" if r.budget.kind == "max" else "-"
    pct = f" ({sign}{percent(r.over_pct / 100)})" if r.over_pct is not None else ""
    msg = (f"{r.model}: " if with_model else "") + (
        f"{r.budget.figure} is {human(r.actual, r.unit)}, {where} the budget {r.budget.name} = "
        f"{human(r.budget.limit, r.unit)} (from {r.budget.origin}) by {human(r.over, r.unit)}{pct}"
    )
    basis = basis_text(r.budget.figure, measurement)
    if basis:
        msg += f"; measured: {basis}"
    if with_layers and r.top:
        msg += "; " + largest(r)
    return msg


def largest(r: BudgetResult) -> str:
    return "largest: " + ", ".join(f"{c.layer} {human(c.value, r.unit)} ({percent(c.share)})" for c in r.top)


def diagnostic(r: BudgetResult, measurement: Mapping[str, Any] | None = None) -> Diagnostic:
    """An exceeded budget as a diagnostic, pointed at the spec line it concerns."""
    return Diagnostic(
        "budget-exceeded",
        "error",
        failure_message(r, measurement, with_layers=False),
        r.loc,
        subject=r.budget.name,
        why=largest(r) if r.top else "",
    )


def summary_line(checks: Sequence[ModelCheck]) -> str:
    n = sum(len(c.results) for c in checks)
    bad = sum(1 for c in checks for r in c.results if not r.ok)
    models = plural(len(checks), "model")
    if not bad:
        return f"cnnscope: all {plural(n, 'budget')} met ({models})"
    bad_models = sum(1 for c in checks if not c.ok)
    return f"cnnscope: {bad} of {plural(n, 'budget')} exceeded in {bad_models} of {models}"


FIELDS = (
    Field("model", "model", priority=NEVER),
    Field("budget", "budget", priority=90, code=True),
    Field("actual", "actual", "count_si", unit_by="shown_unit", priority=80),
    Field("limit", "limit", "count_si", unit_by="shown_unit", priority=70),
    Field("delta", "over / left", align="right", priority=85),
    Field("status", "status", styles={"ok": "green", "EXCEEDED": "bold red"}, priority=NEVER),
)
CSV_FIELDS = tuple(
    Field(k, k) for k in ("model", "budget", "figure", "kind", "actual", "limit", "unit", "over", "headroom", "ok")
)


def document(checks: Sequence[ModelCheck]) -> Document:
    rows = []
    for c in checks:
        for r in c.results:
            rows.append(
                {
                    "model": r.model,
                    "budget": r.budget.name,
                    "figure": r.budget.figure,
                    "kind": r.budget.kind,
                    "actual": r.actual,
                    "limit": r.budget.limit,
                    "unit": r.unit,
                    "shown_unit": "count_si" if r.unit == "count" else r.unit,
                    "over": r.over,
                    "headroom": r.headroom,
                    "ok": r.ok,
                    "delta": delta_text(r),
                    "status": "ok" if r.ok else "EXCEEDED",
                }
            )
    bad = [(r, c.measurement) for c in checks for r in c.results if not r.ok]
    verdict = "✅ within budget" if not bad else f"❌ {plural(len(bad), 'budget')} exceeded"
    blocks: list[Any] = [heading(f"cnnscope budget check: {verdict}"), Table(FIELDS, rows, csv_fields=CSV_FIELDS)]
    blocks += [Text(f"{c.model}: {measurement_line(c.measurement)}", "bullet", "dim") for c in checks if c.measurement]
    blocks += [diagnostic(r, m) for r, m in bad]
    return Document(blocks, data(checks), summary_line(checks))


def data(checks: Sequence[ModelCheck]) -> dict[str, Any]:
    models = []
    for c in checks:
        doc = c.to_json()
        for r, b in zip(c.results, doc["budgets"], strict=True):
            b["measured"] = basis_text(r.budget.figure, c.measurement) if r.measured else None
        models.append(doc)
    return {
        "ok": all(c.ok for c in checks),
        "exceeded": sum(1 for c in checks for r in c.results if not r.ok),
        "models": models,
    }
