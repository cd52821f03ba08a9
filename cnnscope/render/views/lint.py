"""Lint findings (``cnnscope.learn.lint``, each a diagnostic) and the rule list as documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cnnscope.diagnostics import SEVERITIES, Diagnostic
from cnnscope.graph import Graph
from cnnscope.render.document import NEVER, Block, Document, Field, Table, diagnostics_table, heading
from cnnscope.render.units import plural


def counts(findings: Sequence[Diagnostic]) -> dict[str, int]:
    return {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}


def document(graph: Graph, findings: Sequence[Diagnostic], fail_on: str) -> Document:
    """One diagnostic per finding, then ``model: 1 warning, 2 infos`` (or ``clean``)."""
    n = counts(findings)
    summary = ", ".join(plural(k, s) for s, k in n.items() if k) or "clean"
    data = {
        "model": graph.name,
        "source": graph.source,
        "fail_on": fail_on,
        "counts": n,
        "findings": [f.to_json() for f in findings],
    }
    blocks: list[Block] = [heading(f"{graph.name}: lint"), *findings]
    return Document(blocks, data, f"{graph.name}: {summary}", csv=diagnostics_table(findings))


RULE_FIELDS = (
    Field("id", "rule", priority=NEVER, code=True),
    Field("severity", "severity", priority=60),
    Field("summary", "summary", priority=90, wrap=True, min_width=24),
    Field("why", "why", priority=50, wrap=True, min_width=24),
    Field("fix", "fix", priority=40, wrap=True, min_width=24),
)


def rules_document(rules: Sequence[Any]) -> Document:
    """The rules (``cnnscope lint --list-rules``), by id."""
    rows = [{"id": r.id, "severity": r.severity, "summary": r.summary, "why": r.why, "fix": r.fix} for r in rules]
    return Document([Table(RULE_FIELDS, rows, title="lint rules")], {"rules": rows})
