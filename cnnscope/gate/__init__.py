"""The CI gate: budgets on any figure, evaluated against a model's report.

- :mod:`~cnnscope.gate.quantity`: ``12M``, ``64MiB``, ``50%`` as numbers;
- :mod:`~cnnscope.gate.budgets`: budgets and where they come from;
- :mod:`~cnnscope.gate.measure`: measured figures (latency, throughput, peak memory);
- :mod:`~cnnscope.gate.evaluate`: a report against its budgets, as facts;
- :mod:`~cnnscope.gate.check`: the models to check and ``cnnscope check`` itself.

Nothing here formats a number or writes a sentence: ``cnnscope.render`` does.
"""

from __future__ import annotations

from cnnscope.gate.budgets import Budget, cli_budgets, make_budget, merge, parse_assignment, spec_budgets
from cnnscope.gate.check import Target, add_measurement, check_target, config_targets, run_check
from cnnscope.gate.evaluate import BudgetResult, Contributor, ModelCheck, evaluate, numeric_totals
from cnnscope.gate.measure import (
    LATENCY_STATISTICS,
    MEASURED,
    MEASURED_UNITS,
    MeasureOptions,
    measure_options,
    measure_totals,
    needs_measurement,
)
from cnnscope.gate.quantity import is_bytes_text, parse_quantity

__all__ = [
    "LATENCY_STATISTICS",
    "MEASURED",
    "MEASURED_UNITS",
    "Budget",
    "BudgetResult",
    "Contributor",
    "MeasureOptions",
    "ModelCheck",
    "Target",
    "add_measurement",
    "check_target",
    "cli_budgets",
    "config_targets",
    "evaluate",
    "is_bytes_text",
    "make_budget",
    "measure_options",
    "measure_totals",
    "merge",
    "needs_measurement",
    "numeric_totals",
    "parse_assignment",
    "parse_quantity",
    "run_check",
    "spec_budgets",
]
