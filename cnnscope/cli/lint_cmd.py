"""`lint`: design smells from the CNN course, each with its reason and a fix."""

from __future__ import annotations

from typing import Annotated, Any

from cnnscope.cli.app import Argument, Option, app
from cnnscope.cli.common import (
    SOURCE_HELP,
    BatchOpt,
    FormatOpt,
    InputOpt,
    KwargsOpt,
    check_choice,
    check_format,
    complete_source,
    load_graph,
)
from cnnscope.diagnostics import SEVERITIES, severity_rank
from cnnscope.errors import UsageError


def _ids(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return tuple(out)


def _config_selection() -> Any:
    from cnnscope.config import find_config
    from cnnscope.learn.lint import Selection

    table = find_config().get("lint", {})
    if not isinstance(table, dict):
        raise UsageError("bad-config", "[tool.cnnscope.lint] must be a table")
    disable = table.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(d, str) for d in disable):
        raise UsageError("bad-config", "[tool.cnnscope.lint] disable must be a list of rule ids")
    return Selection(ignore=tuple(disable))


@app.command(rich_help_panel="Learn")
def lint(
    source: Annotated[
        str | None, Argument(help=SOURCE_HELP, show_default=False, autocompletion=complete_source)
    ] = None,
    format: FormatOpt = "table",
    fail_on: Annotated[
        str, Option("--fail-on", help="exit 1 on findings at or above: info | warning | error")
    ] = "warning",
    select: Annotated[
        list[str] | None, Option("--select", help="run only these rules (comma-separated)", show_default=False)
    ] = None,
    ignore: Annotated[
        list[str] | None, Option("--ignore", help="skip these rules (comma-separated)", show_default=False)
    ] = None,
    list_rules: Annotated[bool, Option("--list-rules", help="print the rules and exit")] = False,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    kwargs: KwargsOpt = None,
) -> int:
    """Design smells a CNN course warns about, each with the layer, the spec line, why it
    matters and the fix. Exit 0 clean, 1 findings at or above --fail-on, 2 bad input."""
    from cnnscope.render import emit
    from cnnscope.render.views.lint import document, rules_document

    check_format(format)
    check_choice("--fail-on", fail_on, SEVERITIES)
    if list_rules:
        from cnnscope.learn.lint import all_rules

        emit(rules_document(sorted(all_rules().values(), key=lambda r: r.id)), format)
        return 0
    if source is None:
        raise UsageError(
            "missing-argument",
            "lint needs a SOURCE (a spec file or built-in name)",
            hint="or --list-rules to see the rules",
        )
    from cnnscope.learn.lint import Selection
    from cnnscope.learn.lint import lint as run

    cli = Selection(select=_ids(select), ignore=_ids(ignore))
    graph = load_graph(source, input, kwargs)
    findings = run(graph, batch, [cli, _config_selection()])
    emit(document(graph, findings, fail_on), format)
    return 1 if any(severity_rank(f.severity) >= severity_rank(fail_on) for f in findings) else 0
