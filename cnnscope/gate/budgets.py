"""Budgets: limits on any figure a report computes, as people write them, and where they come from.

A budget names a report total with a ``max_`` (or ``min_``) prefix: ``max_params``,
``max_macs``, ``max_activation_bytes``, ``min_rf.coverage`` -- whatever numeric total the
analyzers produce, so a figure added later can be budgeted without touching the gate.
Limits take human units (``12M``, ``1.5G``, ``64MiB``, ``64MB``, ``50%``) or plain numbers.

Where budgets come from, lowest precedence first (a later source replaces a key):

1. ``[tool.cnnscope.budget]`` in the project config (every model);
2. the spec's own top-level ``budget:`` mapping;
3. ``[tool.cnnscope.models."path".budget]`` (that model only);
4. the command line (``--max-params 12M``, ``--budget max_flops=4G``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cnnscope.errors import Location, UsageError
from cnnscope.gate.measure import MEASURED_ALIASES
from cnnscope.gate.quantity import Number, is_bytes_text, parse_quantity
from cnnscope.graph import Graph

PREFIXES = ("max_", "min_")


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


def budgets_from_mapping(
    data: Any,
    origin: str,
    loc: Location | None = None,
    key_loc: Callable[[str], Location | None] | None = None,
) -> dict[str, Budget]:
    """A ``budget:`` mapping (spec or config) -> budgets by name, each located by ``key_loc``."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise UsageError("bad-budget", f"`budget` in {origin} must be a mapping of max_<figure>: limit", loc)
    out: dict[str, Budget] = {}
    for k, v in data.items():
        b = make_budget(str(k), v, origin, (key_loc(str(k)) if key_loc else None) or loc)
        out[b.name] = b
    return out


def spec_budgets(graph: Graph) -> dict[str, Budget]:
    """The spec's own top-level ``budget:``, located at each key's line."""
    section = graph.sections.get("budget")
    if section is None:
        return {}
    origin = f"the spec's `budget:` ({graph.file or graph.source})"
    return budgets_from_mapping(section.value, origin, section.loc, section.key_loc)


def cli_budgets(flags: Mapping[str, str | None], assignments: list[str] | None = None) -> dict[str, Budget]:
    """The command line's budgets: ``--max-params 12M`` flags (by figure key) and ``--budget
    KEY=N`` assignments."""
    out: dict[str, Budget] = {}
    for key, value in flags.items():
        if value is not None:
            b = make_budget(key, value, f"--{key.replace('_', '-')}")
            out[b.name] = b
    for text in assignments or []:
        key, value = parse_assignment(text)
        b = make_budget(key, value, f"--budget {key}")
        out[b.name] = b
    return out


def merge(*layers: Mapping[str, Budget]) -> dict[str, Budget]:
    """Later mappings replace earlier ones key by key."""
    out: dict[str, Budget] = {}
    for m in layers:
        out.update(m)
    return out
