"""`lint`: design smells from the CNN course, each with its reason and a fix."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from cnnscope.cli.app import app
from cnnscope.cli.common import SOURCE_HELP, BatchOpt, InputOpt, KwargsOpt, check_choice, complete_source, load_graph
from cnnscope.errors import UsageError

LINT_FORMATS = ("table", "json", "csv", "markdown", "github")
FAIL_ON = ("info", "warning", "error")
_GITHUB_LEVEL = {"info": "notice", "warning": "warning", "error": "error"}


def _ids(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return tuple(out)


def _config_selection() -> Any:
    from cnnscope.config import find_config
    from cnnscope.lint import Selection

    table = find_config().get("lint", {})
    if not isinstance(table, dict):
        raise UsageError("bad-config", "[tool.cnnscope.lint] must be a table")
    disable = table.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(d, str) for d in disable):
        raise UsageError("bad-config", "[tool.cnnscope.lint] disable must be a list of rule ids")
    return Selection(ignore=tuple(disable))


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _list_rules(fmt: str) -> None:
    from cnnscope.lint import rules

    rs = sorted(rules().values(), key=lambda r: r.id)
    if fmt not in ("table", "json", "github"):
        import csv

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["id", "severity", "summary", "why", "fix"])
        w.writerows([r.id, r.severity, r.summary, r.why, r.fix] for r in rs)
        return
    if fmt == "json":
        doc = [{"id": r.id, "severity": r.severity, "summary": r.summary, "why": r.why, "fix": r.fix} for r in rs]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    for r in rs:
        sys.stdout.write(f"{r.id} ({r.severity}): {r.summary}\n  why: {r.why}\n  fix: {r.fix}\n")


@app.command(rich_help_panel="Learn")
def lint(
    source: Annotated[
        str | None, typer.Argument(help=SOURCE_HELP, show_default=False, autocompletion=complete_source)
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="table | json | csv | markdown | github (workflow annotations)")
    ] = "table",
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="exit 1 on findings at or above: info | warning | error")
    ] = "warning",
    select: Annotated[
        list[str] | None, typer.Option("--select", help="run only these rules (comma-separated)", show_default=False)
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="skip these rules (comma-separated)", show_default=False)
    ] = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="print the rules and exit")] = False,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    kwargs: KwargsOpt = None,
) -> int:
    """Design smells a CNN course warns about, each with the layer, the spec line, why it
    matters and the fix. Exit 0 clean, 1 findings at or above --fail-on, 2 bad input."""
    check_choice("--format", format, LINT_FORMATS)
    check_choice("--fail-on", fail_on, FAIL_ON)
    if list_rules:
        _list_rules(format)
        return 0
    if source is None:
        raise UsageError(
            "missing-argument",
            "lint needs a SOURCE (a spec file or built-in name)",
            hint="or --list-rules to see the rules",
        )
    from cnnscope.lint import Selection, severity_rank
    from cnnscope.lint import lint as run

    cli = Selection(select=_ids(select), ignore=_ids(ignore))
    graph = load_graph(source, input, kwargs)
    findings = run(graph, batch, [cli, _config_selection()])
    failing = [f for f in findings if severity_rank(f.severity) >= severity_rank(fail_on)]
    counts = {s: sum(1 for f in findings if f.severity == s) for s in FAIL_ON}
    if format == "json":
        doc = {
            "schema_version": 1,
            "model": graph.name,
            "source": graph.source,
            "fail_on": fail_on,
            "counts": counts,
            "findings": [f.to_json() for f in findings],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif format == "csv":
        import csv

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["rule", "severity", "layer", "file", "line", "column", "message", "why", "fix"])
        for f in findings:
            loc = f.loc
            w.writerow(
                [
                    f.rule,
                    f.severity,
                    f.layer or "",
                    loc.file if loc else "",
                    loc.line if loc else "",
                    loc.col if loc else "",
                    f.message,
                    f.why,
                    f.fix,
                ]
            )
    elif format == "markdown":
        lines = [
            f"### {graph.name}: lint",
            "",
            "| severity | rule | layer | where | finding | fix |",
            "|---|---|---|---|---|---|",
        ]
        for f in findings:
            cells = [
                f.severity,
                f"`{f.rule}`",
                f"`{f.layer}`" if f.layer else "",
                str(f.loc) if f.loc else "",
                f.message,
                f.fix,
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
        lines += ["", f"{graph.name}: " + (summary if findings else "clean")]
        sys.stdout.write("\n".join(lines) + "\n")
    elif format == "github":
        for f in findings:
            props = [f"title={_gh_escape(f'cnnscope {f.rule}', True)}"]
            if f.loc is not None and f.loc.file:
                props.insert(0, f"file={_gh_escape(f.loc.file, True)}")
                if f.loc.line is not None:
                    props.insert(1, f"line={f.loc.line}")
                if f.loc.col is not None:
                    props.insert(2, f"col={f.loc.col}")
            body = _gh_escape(f"{f.message}\nwhy: {f.why}\nfix: {f.fix}")
            sys.stdout.write(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{body}\n")
    else:
        from rich.markup import escape

        from cnnscope.render.table import console

        con = console(sys.stdout)
        color = {"info": "cyan", "warning": "yellow", "error": "red"}
        for f in findings:
            con.print(f"[{color[f.severity]}]{f.severity}\\[{f.rule}][/]: {escape(f.message)}")
            if f.loc is not None:
                con.print(f"  --> {escape(str(f.loc))}", highlight=False)
            con.print(f"  [dim]why:[/] {escape(f.why)}")
            con.print(f"  [dim]fix:[/] {escape(f.fix)}")
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
        con.print(f"{graph.name}: " + (summary if findings else "clean"))
    return 1 if failing else 0
