"""What ``cnnscope check`` checks: the models (command line and project config), the budgets
that apply to each, and the check itself (load, analyze, measure if asked, evaluate)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.config import Config
from cnnscope.errors import UsageError
from cnnscope.gate.budgets import Budget, budgets_from_mapping, merge, spec_budgets
from cnnscope.gate.evaluate import ModelCheck, evaluate
from cnnscope.gate.measure import MEASURED_UNITS, MeasureOptions, measure_totals, needs_measurement
from cnnscope.graph import Graph


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
    if needs_measurement(x.figure for x in budgets.values()):
        add_measurement(report, graph, b, measure or MeasureOptions(dtype=options.get("dtype", "float32")))
    return evaluate(graph, report, budgets, top_n)


def add_measurement(report: Report, graph: Graph, batch: int, opts: MeasureOptions) -> None:
    """Time ``graph`` and put the measured figures (and their units) into ``report``."""
    figures, how = measure_totals(graph, batch, opts)
    report.totals.update(figures)
    report.declare({k: MEASURED_UNITS[k] for k in figures})
    report.meta["measurement"] = how


def run_check(
    sources: list[str] | None,
    flags: Mapping[str, Budget],
    config: Config | None,
    input_shape: tuple[int, ...] | None = None,
    batch: int = 1,
    top_n: int = 3,
    measure: MeasureOptions | None = None,
    each: Callable[[Target], AbstractContextManager[Any]] | None = None,
    **options: Any,
) -> list[ModelCheck]:
    """``cnnscope check``: every model named (or, with a config, configured) against its
    budgets. ``each(target)`` wraps each model's check (the CLI's spinner)."""
    if config is None:
        if not sources:
            raise UsageError("no-model", "--no-config needs the models to check on the command line")
        targets = [Target(s) for s in sources]
    else:
        targets = config_targets(config, sources or None)
        if not targets:
            raise UsageError(
                "no-model",
                'nothing to check: name a spec, or set `model = "path"` in [tool.cnnscope]',
                hint="e.g. cnnscope check net.yaml --max-params 12M",
            )
    checks = []
    for t in targets:
        with each(t) if each is not None else nullcontext():
            checks.append(check_target(t, flags, input_shape, batch, top_n, measure, **options))
    return checks
