"""A report against its budgets: one :class:`BudgetResult` per budget, with the layers that
weigh most. Facts only (numbers, units, locations); ``cnnscope.render`` writes the words."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnnscope.analyze.base import Report, get_path
from cnnscope.errors import Location, UsageError, did_you_mean
from cnnscope.gate.budgets import Budget
from cnnscope.gate.measure import MEASURED, MEASURED_UNITS
from cnnscope.gate.quantity import Number
from cnnscope.graph import Graph


@dataclass(frozen=True)
class Contributor:
    """A layer among the largest contributors to an exceeded budget's figure."""

    layer: str
    value: Number
    share: float  # of the total, 0..1
    loc: Location | None = None


@dataclass(frozen=True)
class BudgetResult:
    """One budget checked against one model: the figure, the limit, by how much it is over."""

    model: str
    source: str
    budget: Budget
    actual: Number
    ok: bool
    over: Number  # how far past the limit (0 when within); for min_ budgets, how far short
    over_pct: float | None  # over / limit * 100; None for a zero limit
    headroom: Number  # limit - actual for max_ (negative when over)
    top: tuple[Contributor, ...] = ()
    loc: Location | None = None  # where an annotation should point
    unit: str = "count"  # the figure's declared unit

    @property
    def measured(self) -> bool:
        """Whether the figure was measured by running the model (see ModelCheck.measurement)."""
        return self.budget.figure in MEASURED_UNITS

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": self.budget.name,
            "figure": self.budget.figure,
            "kind": self.budget.kind,
            "limit": self.budget.limit,
            "actual": self.actual,
            "ok": self.ok,
            "over": self.over,
            "over_percent": None if self.over_pct is None else round(self.over_pct, 4),
            "unit": self.unit,
            "origin": self.budget.origin,
            "location": loc_json(self.loc),
            "top_layers": [
                {"layer": c.layer, "value": c.value, "share": round(c.share, 6), "location": loc_json(c.loc)}
                for c in self.top
            ],
        }


def loc_json(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"file": loc.file, "line": loc.line, "column": loc.col}


@dataclass
class ModelCheck:
    """Every budget result for one model."""

    model: str
    source: str
    file: str | None
    results: list[BudgetResult] = field(default_factory=list)
    measurement: dict[str, Any] | None = None  # how the measured figures were taken, when they were

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "source": self.source,
            "file": self.file,
            "ok": self.ok,
            "budgets": [r.to_json() for r in self.results],
        }
        if self.measurement is not None:
            out["measurement"] = self.measurement
        return out


def numeric_totals(report: Report) -> dict[str, Number]:
    """Every numeric total, nested ones as dotted keys (``rf.coverage``)."""
    out: dict[str, Number] = {}

    def walk(prefix: str, d: Mapping[str, Any]) -> None:
        for k, v in d.items():
            key = f"{prefix}{k}"
            if isinstance(v, bool) or key == "output_shape":
                continue
            if isinstance(v, (int, float)):
                out[key] = v
            elif isinstance(v, (list, tuple)) and v and all(_is_num(x) for x in v):
                out[key] = max(v)  # a per-axis figure: its largest (evaluate() takes min for min_)
            elif isinstance(v, Mapping):
                walk(key + ".", v)

    walk("", report.totals)
    return out


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def unit_of(report: Report, figure: str) -> str:
    """The unit the analyzer (or the measurement) declared for ``figure``; ``count`` for a
    figure that declares none."""
    return report.unit_of(figure) or MEASURED_UNITS.get(figure) or "count"


def evaluate(graph: Graph, report: Report, budgets: Mapping[str, Budget], top_n: int = 3) -> ModelCheck:
    """Compare each budget with the report; raise UsageError for a figure it lacks."""
    totals = numeric_totals(report)
    check = ModelCheck(report.model, report.source, graph.file, measurement=report.meta.get("measurement"))
    for b in budgets.values():
        actual = totals.get(b.figure)
        raw = get_path(report.totals, b.figure)
        if b.kind == "min" and isinstance(raw, (list, tuple)) and actual is not None:
            actual = min(raw)  # every axis must reach the minimum
        unit = unit_of(report, b.figure)
        if b.percent and actual is not None and unit != "percent":
            raise UsageError(
                "bad-quantity",
                f"budget `{b.name}` ({b.origin}) is a percentage, but `{b.figure}` is a {unit}, not a fraction",
                b.loc,
                "a percent limit applies to a fraction figure (rf.coverage...); give a count: 12M, 1.5G, 64MiB",
            )
        if actual is not None and isinstance(actual, float) and not math.isfinite(actual):
            raise UsageError(
                "budget-unknown",
                f"budget `{b.name}` ({b.origin}) cannot be evaluated: `{b.figure}` of `{report.model}` is {actual}",
                b.loc,
            )
        if actual is None:
            known = sorted(totals)
            raise UsageError(
                "unknown-figure",
                f"budget `{b.name}` ({b.origin}): model `{report.model}` has no figure `{b.figure}`"
                + did_you_mean(b.figure, sorted({*known, *MEASURED})),
                b.loc,
                "figures that can be budgeted: "
                + ", ".join("max_" + k for k in known)
                + "; measured (runs the model): "
                + ", ".join("max_" + k for k in MEASURED if k not in totals),
            )
        if b.kind == "max":
            over: Number = max(actual - b.limit, 0)
            headroom: Number = b.limit - actual
        else:
            over = max(b.limit - actual, 0)
            headroom = actual - b.limit
        ok = over == 0
        if ok and report.totals.get("incomplete") and _lower_bound(b.figure):
            unsupported = list(report.totals.get("unsupported", []))
            raise UsageError(
                "budget-unknown",
                f"budget `{b.name}` ({b.origin}) cannot be evaluated: `{report.model}` has {len(unsupported)} "
                f"layer(s) whose cost cnnscope cannot count, so {b.figure} = {actual:,} is only a lower bound",
                b.loc,
                "unsupported: " + ", ".join(unsupported[:10]) + (" …" if len(unsupported) > 10 else ""),
            )
        pct = None if b.limit == 0 else over / b.limit * 100
        if b.limit == 0 and ok:
            pct = 0.0
        top = _contributors(graph, report, b.figure, actual, top_n) if b.kind == "max" else ()
        loc = b.loc or (top[0].loc if top else None) or (Location(graph.file, 1, 1) if graph.file else None)
        check.results.append(
            BudgetResult(report.model, report.source, b, actual, ok, over, pct, headroom, top, loc, unit)
        )
    return check


def _lower_bound(figure: str) -> bool:
    """A figure that layers of unknown cost leave low (they count 0 toward it)."""
    return figure in ("macs", "flops") or figure.startswith("other_ops")


def _contributors(graph: Graph, report: Report, figure: str, total: Number, n: int) -> tuple[Contributor, ...]:
    vals: list[tuple[Number, str]] = []
    for row in report.rows:
        v = get_path(row, figure)
        if _is_num(v) and v > 0:
            vals.append((v, row["name"]))
    vals.sort(key=lambda t: (-t[0], t[1]))
    out = []
    for v, name in vals[:n]:
        loc = graph.node(name).loc if name in graph else None
        out.append(Contributor(name, v, (v / total) if total else 0.0, loc))
    return tuple(out)
