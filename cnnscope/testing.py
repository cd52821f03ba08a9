"""A pytest helper: put a model's budget in your own test suite.

    from cnnscope.testing import assert_within_budget

    def test_model_fits_the_phone():
        assert_within_budget("models/net.yaml", max_params="12M", max_macs="2G")

Raises ``AssertionError`` with one readable line per exceeded budget (the figure, the
budget, the actual value, by how much, and the largest layers).

A measured budget (``max_latency_ms=20``, ``min_throughput=500``, ``max_peak_memory_bytes``)
times the model with the profiler's engine; ``measure=MeasureOptions(device="cuda",
statistic="p90", ...)`` says how (default: CPU, median, at least 10 blocks and 1 s). Bad input (a missing
file, an unknown figure, a bad unit) raises the usual :class:`~cnnscope.errors.CnnscopeError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnnscope.errors import UsageError
from cnnscope.gate import Budget, MeasureOptions, ModelCheck, Target, check_target, make_budget


def check_budget(
    source: str,
    budget: Mapping[str, Any] | None = None,
    *,
    input: Sequence[int] | None = None,
    batch: int = 1,
    use_spec_budget: bool = True,
    measure: MeasureOptions | None = None,
    **limits: Any,
) -> ModelCheck:
    """Evaluate ``source`` against ``limits`` (``max_params="12M"``) and ``budget``; no raising on
    an exceeded budget. With ``use_spec_budget``, the spec's own ``budget:`` applies too."""
    budgets: dict[str, Budget] = {}
    for k, v in {**dict(budget or {}), **limits}.items():
        b = make_budget(k, v, "assert_within_budget")
        budgets[b.name] = b
    if not budgets and not use_spec_budget:
        raise UsageError("no-budget", "assert_within_budget needs at least one limit, e.g. max_params='12M'")
    target = Target(source)
    check = check_target(target, budgets, tuple(input) if input is not None else None, batch, measure=measure)
    if not use_spec_budget:
        check.results = [r for r in check.results if r.budget.name in budgets]
    return check


def assert_within_budget(
    source: str,
    budget: Mapping[str, Any] | None = None,
    *,
    input: Sequence[int] | None = None,
    batch: int = 1,
    measure: MeasureOptions | None = None,
    **limits: Any,
) -> ModelCheck:
    """Assert that ``source`` meets every budget; return the check for further assertions."""
    from cnnscope.render.views.check import failure_message

    check = check_budget(source, budget, input=input, batch=batch, measure=measure, **limits)
    failed = [r for r in check.results if not r.ok]
    if failed:
        lines = [f"{len(failed)} budget{'s' if len(failed) != 1 else ''} exceeded for `{source}`:"]
        lines += [f"  - {failure_message(r, check.measurement)}" for r in failed]
        raise AssertionError("\n".join(lines))
    return check
