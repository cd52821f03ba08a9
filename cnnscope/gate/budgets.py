"""Budgets: limits on any figure a report computes, and their evaluation.

A budget names a report total with a ``max_`` (or ``min_``) prefix: ``max_params``,
``max_macs``, ``max_activation_bytes``, ``min_rf.coverage`` -- whatever numeric total the
analyzers produce, so a figure added later can be budgeted without touching this module.
Limits take human units (``12M``, ``1.5G``, ``64MiB``, ``64MB``, ``50%``) or plain numbers.

Where budgets come from, lowest precedence first (a later source replaces a key):

1. ``[tool.cnnscope.budget]`` in the project config (every model);
2. the spec's own top-level ``budget:`` mapping;
3. ``[tool.cnnscope.models."path".budget]`` (that model only);
4. the command line (``--max-params 12M``, ``--budget max_flops=4G``).

Measured figures (``latency_ms``, ``latency_median_ms``, ``latency_p90_ms``,
``throughput_per_s``, ``peak_memory_bytes``) are not analytic: only when a budget names one
does :func:`check_target` time the model with the profiler's engine
(:mod:`cnnscope.profile.runner`, which imports torch) and add them to the report's totals.

This module never formats numbers; the CLI renders :class:`BudgetResult` objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.config import Config
from cnnscope.errors import Location, UsageError, did_you_mean
from cnnscope.graph import Graph
from cnnscope.render.units import get_path

Number = int | float

_SI = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_BIN = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_QTY = re.compile(r"^\s*(?P<num>[+-]?(?:\d[\d_,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z%]*)\s*$")
PREFIXES = ("max_", "min_")

# Figures that exist only when the model is run (see measure_totals); everything else is analytic.
MEASURED = ("latency_ms", "latency_median_ms", "latency_p90_ms", "throughput_per_s", "peak_memory_bytes")
# Short budget names people write for them: min_throughput = min_throughput_per_s, ...
MEASURED_ALIASES = {
    "latency": "latency_ms",
    "latency_median": "latency_median_ms",
    "latency_p90": "latency_p90_ms",
    "throughput": "throughput_per_s",
    "peak_memory": "peak_memory_bytes",
}
LATENCY_STATISTICS = ("median", "p90")


def parse_quantity(value: Any, what: str = "budget", loc: Location | None = None) -> Number:
    """``"12M"`` -> 12_000_000, ``"1.5G"`` -> 1_500_000_000, ``"64MiB"`` -> 67_108_864,
    ``"64MB"`` -> 64_000_000, ``"50%"`` -> 0.5, ``12`` -> 12.

    A trailing ``B`` (bytes) is allowed after any prefix; so are the words ``MAC``/``FLOP``
    (``2GMAC``). Whole results are returned as ``int``. Raises :class:`UsageError`
    (``bad-quantity``) for anything else, naming what was wrong.
    """
    hint = "use a number with an optional unit: 12M, 1.5G, 64MiB, 64MB, 500K, 50%, or a plain integer"
    if isinstance(value, bool) or value is None:
        raise UsageError("bad-quantity", f"{what} must be a number, got `{value}`", loc, hint)
    if isinstance(value, (int, float)):
        return _checked(value, what, str(value), loc, hint)
    if not isinstance(value, str):
        raise UsageError("bad-quantity", f"{what} must be a number, got {type(value).__name__}", loc, hint)
    m = _QTY.match(value)
    if m is None:
        raise UsageError("bad-quantity", f"{what}: cannot read `{value}` as a quantity", loc, hint)
    num_text = m.group("num").replace("_", "").replace(",", "")
    unit = m.group("unit")
    scale = _unit_scale(unit)
    if scale is None:
        raise UsageError("bad-quantity", f"{what}: unknown unit `{unit}` in `{value}`", loc, hint)
    num = Decimal(num_text)  # exact: 1.1G is 1_100_000_000, not 1_100_000_000.0000002
    if num != 0 and num.adjusted() > 30:  # 1e999999 would be a million-digit int
        raise UsageError("bad-quantity", f"{what}: `{value[:80]}` is out of range (at most 10^30)", loc, hint)
    if unit == "%":
        num /= 100
    else:
        num *= scale
    result: Number = int(num) if num == num.to_integral_value() else float(num)
    return _checked(result, what, value, loc, hint)


_WORDS = ("MACs", "MAC", "macs", "mac", "FLOPs", "FLOP", "flops", "flop", "B")


def _unit_scale(unit: str) -> int | None:
    """The multiplier of a unit: an SI or binary prefix, optionally followed by B/MAC/FLOP."""
    if unit == "%":
        return 1
    for word in _WORDS:
        if unit.endswith(word):
            unit = unit[: -len(word)]
            break
    if unit in _BIN:
        return _BIN[unit]
    return _SI.get(unit)


MAX_QUANTITY = 10**30


def _checked(v: Number, what: str, text: str, loc: Location | None, hint: str) -> Number:
    text = text[:80]
    if isinstance(v, float) and not math.isfinite(v):
        raise UsageError("bad-quantity", f"{what} must be finite, got `{text}`", loc, hint)
    if v > MAX_QUANTITY:
        raise UsageError("bad-quantity", f"{what}: `{text}` is out of range (at most 10^30)", loc, hint)
    if v < 0:
        raise UsageError("bad-quantity", f"{what} must not be negative, got `{text}`", loc, hint)
    return v


def is_bytes_text(value: Any) -> bool:
    """Did the user write a byte unit (``64MiB``, ``1GB``, ``512B``)?"""
    return isinstance(value, str) and re.search(r"[0-9\s](?:[kKMGTP]i?)?[Bb]\s*$", value) is not None


# -- budgets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """One limit: ``name`` as written (``max_params``), ``figure`` the report total it bounds."""

    name: str
    figure: str
    limit: Number
    kind: str = "max"  # or "min"
    origin: str = "command line"  # where it was set, for messages
    loc: Location | None = None  # where it was set, when that is a spec line
    percent: bool = False  # written as a percentage (`50%`): only for a fraction figure


def make_budget(name: str, raw: Any, origin: str = "command line", loc: Location | None = None) -> Budget:
    """``("max_params", "12M")`` -> Budget; ``name`` may omit ``max_`` (``params=12M``)."""
    key = str(name).strip().replace("-", "_")
    if not key:
        raise UsageError("bad-budget", "a budget needs a name, e.g. max_params=12M", loc)
    if not key.startswith(PREFIXES):
        key = "max_" + key
    kind, figure = key[:3], key[4:]
    if not figure:
        raise UsageError("bad-budget", f"budget `{name}` names no figure", loc, "e.g. max_params, max_macs")
    figure = MEASURED_ALIASES.get(figure, figure)
    key = f"{kind}_{figure}"
    if figure.endswith("_ms") and isinstance(raw, str) and raw.rstrip().endswith("ms"):
        raw = raw.rstrip()[:-2]  # max_latency_ms = "20ms": the unit is already in the name
    limit = parse_quantity(raw, f"budget `{key}`", loc)
    if is_bytes_text(raw) and not figure.endswith("bytes"):
        raise UsageError(
            "bad-quantity",
            f"budget `{key}` counts {figure}, but `{raw}` is a size in bytes",
            loc,
            f"drop the `B`, e.g. {str(raw).rstrip('Bb').rstrip('i')}, or budget a *_bytes figure",
        )
    percent = isinstance(raw, str) and raw.strip().endswith("%")
    return Budget(key, figure, limit, kind, origin, loc, percent)


def parse_assignment(text: str) -> tuple[str, str]:
    """``"max_params=12M"`` -> (``max_params``, ``12M``) for ``--budget``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise UsageError("bad-budget", f"--budget takes KEY=VALUE, got `{text}`", hint="e.g. --budget max_flops=4G")
    return key.strip(), value.strip()


def budgets_from_mapping(data: Any, origin: str, loc: Location | None = None, key_loc: Any = None) -> dict[str, Budget]:
    """A ``budget:`` mapping (spec or config) -> budgets by name, with each key's location
    (``key_loc(key)`` finds it where the mapping does not carry locations itself)."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError("bad-budget", f"`budget` in {origin} must be a mapping of max_<figure>: limit", loc)
    out: dict[str, Budget] = {}
    for k, v in data.items():
        kloc = data.key_loc(k) if hasattr(data, "key_loc") else (key_loc(str(k)) if key_loc else None) or loc
        b = make_budget(str(k), v, origin, kloc)
        out[b.name] = b
    return out


def spec_budgets(graph: Graph) -> dict[str, Budget]:
    """The spec's own top-level ``budget:``, located at each key's line."""
    data = graph.extras.get("budget")
    top = graph.extras.get("locations", {}).get("top")
    loc = top.val_loc("budget") if hasattr(top, "val_loc") else None
    return budgets_from_mapping(data, f"the spec's `budget:` ({graph.file or graph.source})", loc)


# -- evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contributor:
    layer: str
    value: Number
    share: float  # of the total, 0..1
    loc: Location | None = None


@dataclass(frozen=True)
class BudgetResult:
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
    unit: str = "count"
    basis: str | None = None  # for a measured figure: which statistic, over what, on which device

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
            "measured": self.basis,
            "location": _loc_json(self.loc),
            "top_layers": [
                {"layer": c.layer, "value": c.value, "share": round(c.share, 6), "location": _loc_json(c.loc)}
                for c in self.top
            ],
        }


def _loc_json(loc: Location | None) -> dict[str, Any] | None:
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
    """The render unit of a figure: its column's, else guessed from its name."""
    for c in report.columns:
        if c.key == figure:
            return c.unit
    if figure.endswith("bytes"):
        return "bytes"
    if figure.endswith("_ms"):
        return "ms"
    if figure.endswith("_per_s"):
        return "per_s"
    if figure in ("macs",) or figure.endswith("_macs"):
        return "macs"
    if figure in ("flops",) or figure.endswith("_flops"):
        return "flops"
    if figure.endswith(("fraction", "coverage", "ratio")):
        return "percent"
    return "count"


def evaluate(graph: Graph, report: Report, budgets: Mapping[str, Budget], top_n: int = 3) -> ModelCheck:
    """Compare each budget with the report; raise UsageError for a figure it lacks."""
    totals = numeric_totals(report)
    measurement = report.meta.get("measurement")
    check = ModelCheck(report.model, report.source, graph.file, measurement=measurement)
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
            BudgetResult(
                report.model,
                report.source,
                b,
                actual,
                ok,
                over,
                pct,
                headroom,
                top,
                loc,
                unit_of(report, b.figure),
                _basis(b.figure, measurement),
            )
        )
    return check


def _lower_bound(figure: str) -> bool:
    """A figure that layers of unknown cost leave low (they count 0 toward it)."""
    return figure in ("macs", "flops") or figure.startswith("other_ops")


def _basis(figure: str, m: Mapping[str, Any] | None) -> str | None:
    """``median over 412 forward passes (40 blocks) on cpu, float32, 4 threads, batch 1``."""
    if m is None or figure not in MEASURED:
        return None
    stat = {
        "latency_ms": m["statistic"],
        "latency_median_ms": "median",
        "latency_p90_ms": "p90",
        "throughput_per_s": "batch / median latency",
        "peak_memory_bytes": "peak memory",
    }[figure]
    device = m["device"] if m["device_name"] == m["device"] else f"{m['device']} ({m['device_name']})"
    return (
        f"{stat} over {m['iters']} forward passes ({m['samples']} timed blocks) on {device}, "
        f"{m['dtype']}, {m['threads']} thread{'s' if m['threads'] != 1 else ''}, batch {m['batch']}"
        + (f"; {m['memory_kind']}" if figure == "peak_memory_bytes" else "")
    )


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


def merge(*layers: Mapping[str, Budget]) -> dict[str, Budget]:
    """Later mappings replace earlier ones key by key."""
    out: dict[str, Budget] = {}
    for m in layers:
        out.update(m)
    return out


# -- measured figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureOptions:
    """How to time a model when a budget names a measured figure (the profiler's options)."""

    device: str = "cpu"
    dtype: str = "float32"
    threads: int | None = None
    statistic: str = "median"  # what latency_ms is: median | p90 of the per-forward samples
    warmup: int = 5
    iters: int = 10  # minimum timed blocks
    min_time_s: float = 1.0

    def validate(self) -> None:
        """What can be checked without torch (the runner checks the rest when it runs)."""
        if self.statistic not in LATENCY_STATISTICS:
            raise UsageError(
                "bad-option",
                f"--latency-statistic must be one of {', '.join(LATENCY_STATISTICS)}, got `{self.statistic}`",
            )
        if re.fullmatch(r"cpu|cuda(?::\d+)?", self.device.strip().lower()) is None:
            raise UsageError("bad-option", f"--device must be cpu, cuda or cuda:N, got `{self.device[:80]}`")
        if not (math.isfinite(self.min_time_s) and 0 <= self.min_time_s <= 3600):
            raise UsageError(
                "bad-option", f"--min-time must be a number of seconds from 0 to 3600, got {self.min_time_s}"
            )
        for name, v in (("--warmup", self.warmup), ("--iters", self.iters)):
            if not 0 <= v <= 1_000_000:
                raise UsageError("bad-option", f"{name} must be from 0 to 1,000,000, got {v}")
        if self.threads is not None and not 1 <= self.threads <= 4096:
            raise UsageError("bad-option", f"--threads must be from 1 to 4096, got {self.threads}")


MEASURE_KEYS = {
    "device": str,
    "threads": int,
    "latency_statistic": str,
    "warmup": int,
    "iters": int,
    "min_time": float,
}


def measure_options(config: Config | None, dtype: str = "float32", **given: Any) -> MeasureOptions:
    """Timing settings: a command-line value (not None) wins, then ``[tool.cnnscope.measure]``,
    then the defaults. A CI runner can so pin its device and threads in pyproject.toml."""
    table: Any = config.get("measure", {}) if config is not None else {}
    where = config.loc("measure") if config is not None else None
    if not isinstance(table, Mapping):
        raise UsageError("bad-config", "[tool.cnnscope.measure] must be a table", where)
    for key, value in table.items():
        kind = MEASURE_KEYS.get(key)
        if kind is None:
            raise UsageError(
                "bad-config",
                f"[tool.cnnscope.measure] has no key `{key}`{did_you_mean(str(key), MEASURE_KEYS)}",
                config.loc(str(key)) if config is not None else where,
                "keys: " + ", ".join(MEASURE_KEYS),
            )
        ok = (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if not ok or isinstance(value, bool):
            raise UsageError(
                "bad-config",
                f"[tool.cnnscope.measure] `{key}` must be {kind.__name__}, got {value!r}",
                config.loc(str(key)) if config is not None else where,
            )
        if kind is float and not (math.isfinite(value) and value >= 0):
            raise UsageError(
                "bad-config", f"[tool.cnnscope.measure] `{key}` must be a finite number, got {value}", where
            )

    def pick(key: str, default: Any) -> Any:
        v = given.get(key)
        return v if v is not None else table.get(key, default)

    opts = MeasureOptions(
        device=str(pick("device", "cpu")),
        dtype=dtype,
        threads=pick("threads", None),
        statistic=str(pick("latency_statistic", "median")),
        warmup=int(pick("warmup", 5)),
        iters=int(pick("iters", 10)),
        min_time_s=float(pick("min_time", 1.0)),
    )
    opts.validate()
    return opts


def needs_measurement(budgets: Mapping[str, Budget]) -> bool:
    return any(b.figure in MEASURED for b in budgets.values())


def measure_totals(graph: Graph, batch: int, opts: MeasureOptions) -> tuple[dict[str, Number], dict[str, Any]]:
    """Time ``graph`` once with the profiler's engine: (figures for the report's totals, how
    they were measured). Imports torch. A missing CUDA device is the runner's UsageError."""
    opts.validate()
    from cnnscope.profile.runner import ProfileOptions, profile

    result = profile(
        graph,
        ProfileOptions(
            device=opts.device,
            batches=(batch,),
            dtype=opts.dtype,
            threads=opts.threads,
            warmup=opts.warmup,
            iters=opts.iters,
            min_time_s=opts.min_time_s,
        ),
    )
    br = result.results[0]
    if result.interrupted:
        raise KeyboardInterrupt
    if br.status != "ok" or br.latency is None or br.throughput_per_s is None:
        raise UsageError(
            "measure-failed",
            f"could not time `{graph.name}` at batch {batch} on {result.device}: {br.error or br.status}",
            hint="a smaller --batch, or a device with more memory",
        )
    lat = br.latency
    stat_ms = lat.median_ms if opts.statistic == "median" else lat.p90_ms
    figures: dict[str, Number] = {
        "latency_ms": stat_ms,
        "latency_median_ms": lat.median_ms,
        "latency_p90_ms": lat.p90_ms,
        "throughput_per_s": br.throughput_per_s,
    }
    if br.peak_memory_bytes is not None:
        figures["peak_memory_bytes"] = br.peak_memory_bytes
    how = {
        "statistic": opts.statistic,
        "device": result.device,
        "device_name": result.device_name,
        "dtype": result.options.dtype,
        "threads": result.threads,
        "batch": batch,
        "timer": result.timer,
        "warmup": opts.warmup,
        "min_iters": opts.iters,
        "min_time_s": opts.min_time_s,
        "samples": lat.samples,
        "iters": lat.iters,
        "calls_per_block": lat.calls_per_block,
        "memory_kind": br.memory_kind,
        "figures": dict(figures),
    }
    return figures, how


# -- what to check: command line + project config ------------------------------------------


@dataclass
class Target:
    """One model to check and the budgets that apply to it before the spec's own."""

    source: str
    config_budgets: dict[str, Budget] = field(default_factory=dict)  # [tool.cnnscope.budget]
    model_budgets: dict[str, Budget] = field(default_factory=dict)  # [tool.cnnscope.models."x".budget]
    input_shape: tuple[int, ...] | None = None
    batch: int | None = None


def config_targets(config: Config, sources: list[str] | None = None) -> list[Target]:
    """Targets from ``[tool.cnnscope]``: ``model``/``models`` (a list of paths, or a table of
    ``"path" = {budget = {...}, input = [...], batch = n}``) and ``[tool.cnnscope.budget]``.

    With ``sources``, those are the models; the config still lends its budgets (global, and
    per model where a ``models`` key names the same file).
    """
    where = config.path.name if config.path else "the config"
    origin = f"[tool.cnnscope.budget] in {where}"
    glob = budgets_from_mapping(config.get("budget"), origin, config.loc("budget"), config.loc)
    per_model: dict[str, dict[str, Any]] = {}
    listed: list[str] = []
    model = config.get("model")
    if model is not None:
        if isinstance(model, str):
            listed.append(model)
        elif isinstance(model, list) and all(isinstance(m, str) for m in model):
            listed.extend(model)
        else:
            raise UsageError("bad-config", f"`model` in {where} must be a path or a list of paths", config.loc("model"))
    models = config.get("models")
    if isinstance(models, list):
        if not all(isinstance(m, str) for m in models):
            raise UsageError(
                "bad-config", f"`models` in {where} must be a list of paths or a table", config.loc("models")
            )
        listed.extend(models)
    elif isinstance(models, Mapping):
        for path, entry in models.items():
            if not isinstance(entry, Mapping):
                raise UsageError(
                    "bad-config", f'[tool.cnnscope.models."{path}"] in {where} must be a table', config.loc(str(path))
                )
            unknown = set(entry) - {"budget", "input", "batch"}
            if unknown:
                raise UsageError(
                    "bad-config",
                    f'[tool.cnnscope.models."{path}"] has unknown key(s) ' + ", ".join(sorted(unknown)),
                    config.loc(str(sorted(unknown)[0])),
                    hint="known keys: budget, input, batch",
                )
            per_model[path] = dict(entry)
            listed.append(path)
    elif models is not None:
        raise UsageError("bad-config", f"`models` in {where} must be a list of paths or a table", config.loc("models"))

    def key_of(p: str) -> str:
        q = Path(p)
        return str(q.resolve()) if q.exists() else p

    entries = {key_of(config.resolve(p)): (p, per_model.get(p, {})) for p in listed}
    chosen = sources if sources else [config.resolve(p) for p in dict.fromkeys(listed)]
    out: list[Target] = []
    for src in chosen:
        _p, entry = entries.get(key_of(src), (src, {}))
        t = Target(src, dict(glob))
        if entry:
            t.model_budgets = budgets_from_mapping(
                entry.get("budget"), f'[tool.cnnscope.models."{_p}"] in {where}', config.loc(_p), config.loc
            )
            if "input" in entry:
                inp = entry["input"]
                if (
                    not isinstance(inp, list)
                    or not 1 <= len(inp) <= 4
                    or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 10**18 for d in inp)
                ):
                    raise UsageError(
                        "bad-config",
                        f'`input` for model "{_p}" in {where} must be a list of sizes',
                        config.loc("input"),
                    )
                t.input_shape = tuple(inp)
            if "batch" in entry:
                if not isinstance(entry["batch"], int) or isinstance(entry["batch"], bool) or entry["batch"] < 1:
                    raise UsageError(
                        "bad-config",
                        f'`batch` for model "{_p}" in {where} must be a positive integer',
                        config.loc("batch"),
                    )
                t.batch = entry["batch"]
        out.append(t)
    return out


def check_target(
    target: Target,
    cli_budgets: Mapping[str, Budget] | None = None,
    input_shape: tuple[int, ...] | None = None,
    batch: int = 1,
    top_n: int = 3,
    measure: MeasureOptions | None = None,
    **options: Any,
) -> ModelCheck:
    """Load, analyze and evaluate one target; UsageError if no budget applies to it.

    When a budget names a measured figure (``max_latency_ms``), the model is also timed with
    ``measure`` (default: :class:`MeasureOptions`) and those figures join the report's totals.
    """
    from cnnscope.analyze.base import analyze
    from cnnscope.frontends.sources import load

    graph = load(target.source, input_shape or target.input_shape)
    budgets = merge(target.config_budgets, spec_budgets(graph), target.model_budgets, cli_budgets or {})
    if not budgets:
        raise UsageError(
            "no-budget",
            f"no budget applies to `{target.source}`",
            hint="pass --max-params 12M (or --budget max_<figure>=N), add a `budget:` to the spec, "
            "or set [tool.cnnscope.budget] in pyproject.toml",
        )
    b = target.batch or batch
    report = analyze(graph, None, batch=b, **options)
    if needs_measurement(budgets):
        figures, how = measure_totals(graph, b, measure or MeasureOptions(dtype=options.get("dtype", "float32")))
        report.totals.update(figures)
        report.meta["measurement"] = how
    return evaluate(graph, report, budgets, top_n)
