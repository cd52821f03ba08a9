"""`check`: the CI gate. Budgets on any figure; exit 0 within, 1 exceeded, 2 bad input."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, TextIO

import typer

from cnnscope.budget import (
    LATENCY_STATISTICS,
    Budget,
    BudgetResult,
    ModelCheck,
    Target,
    check_target,
    config_targets,
    make_budget,
    measure_options,
    parse_assignment,
)
from cnnscope.cli.app import app
from cnnscope.cli.common import (
    BatchOpt,
    DtypeOpt,
    InputOpt,
    OptimizerOpt,
    check_choice,
    check_memory_options,
    parse_input,
)
from cnnscope.errors import UsageError
from cnnscope.render.units import fmt as fmt_unit
from cnnscope.render.units import nbytes, percent, si

CHECK_FORMATS = ("table", "json", "github", "markdown")

_MEASURE = "Measured budgets"
_Limit = Annotated[
    str | None, typer.Option(show_default=False, metavar="N", help="limit on this figure: 12M, 1.5G, 64MiB, 64MB, 500K")
]


def human(value: float | None, unit: str) -> str:
    """A budget figure for people: 11.69 M, 1.82 GMAC, 64.00 MiB, 50.0%."""
    if value is None:
        return "–"
    if unit == "count":
        return si(value)
    if unit == "macs":
        return si(value, "MAC")
    if unit == "flops":
        return si(value, "FLOP")
    if unit == "bytes":
        return nbytes(value)
    return fmt_unit(value, unit)


def delta_text(r: BudgetResult) -> str:
    """``+1.71 K (+2.8%)`` over a max_ budget; ``-3.2 K short`` under a min_ one; headroom otherwise."""
    if r.ok:
        return f"{human(r.headroom, r.unit)} left"
    pct = f" ({'+' if r.budget.kind == 'max' else '-'}{percent(r.over_pct / 100)})" if r.over_pct is not None else ""
    sign = "+" if r.budget.kind == "max" else "-"
    return f"{sign}{human(r.over, r.unit)}{pct}"


def failure_message(r: BudgetResult, with_layers: bool = True, with_model: bool = True) -> str:
    """One readable sentence: model, figure, actual, budget, by how much, largest layers."""
    where = "over" if r.budget.kind == "max" else "under"
    sign = "+" if r.budget.kind == "max" else "-"
    pct = f" ({sign}{percent(r.over_pct / 100)})" if r.over_pct is not None else ""
    msg = (f"{r.model}: " if with_model else "") + (
        f"{r.budget.figure} is {human(r.actual, r.unit)}, {where} the budget {r.budget.name} = "
        f"{human(r.budget.limit, r.unit)} (from {r.budget.origin}) by {human(r.over, r.unit)}{pct}"
    )
    if r.basis:
        msg += f"; measured: {r.basis}"
    if with_layers and r.top:
        msg += "; largest: " + ", ".join(f"{c.layer} {human(c.value, r.unit)} ({percent(c.share)})" for c in r.top)
    return msg


def _rel(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(checks: list[ModelCheck], out: TextIO) -> None:
    """Workflow commands: one ``::error`` per exceeded budget, at the spec line it concerns."""
    for c in checks:
        for r in c.results:
            if r.ok:
                continue
            props = []
            file = _rel(r.loc.file if r.loc else c.file)
            if file:
                props.append(f"file={_gh_escape(file, True)}")
                if r.loc is not None and r.loc.line is not None:
                    props.append(f"line={r.loc.line}")
                    if r.loc.col is not None:
                        props.append(f"col={r.loc.col}")
            props.append(f"title={_gh_escape(f'cnnscope: {r.budget.name} exceeded ({r.model})', True)}")
            out.write(f"::error {','.join(props)}::{_gh_escape(failure_message(r))}\n")
    out.write(summary_line(checks) + "\n")


def measurement_line(m: dict[str, object]) -> str:
    """How the measured figures were taken, for the table and the markdown comment."""
    device = m["device"] if m["device_name"] == m["device"] else f"{m['device']} ({m['device_name']})"
    threads = f"{m['threads']} thread{'s' if m['threads'] != 1 else ''}"
    return (
        f"measured on {device}, {m['dtype']}, {threads}, batch {m['batch']}: "
        f"{m['samples']} timed blocks, {m['iters']} forward passes ({m['timer']}); "
        f"latency_ms is the {m['statistic']}"
    )


def summary_line(checks: list[ModelCheck]) -> str:
    n = sum(len(c.results) for c in checks)
    bad = sum(1 for c in checks for r in c.results if not r.ok)
    models = len(checks)
    bad_models = sum(1 for c in checks if not c.ok)
    if not bad:
        return f"cnnscope: all {n} budget{'s' if n != 1 else ''} met ({models} model{'s' if models != 1 else ''})"
    return (
        f"cnnscope: {bad} of {n} budget{'s' if n != 1 else ''} exceeded "
        f"in {bad_models} of {models} model{'s' if models != 1 else ''}"
    )


def render_markdown(checks: list[ModelCheck], out: TextIO) -> None:
    """A pull-request comment: a verdict, a table, then each failure with its largest layers."""
    bad = [r for c in checks for r in c.results if not r.ok]
    head = "✅ within budget" if not bad else f"❌ {len(bad)} budget{'s' if len(bad) != 1 else ''} exceeded"
    lines = [
        f"### cnnscope budget check: {head}",
        "",
        "| model | budget | actual | limit | over / left | |",
        "|---|---|---:|---:|---:|:-:|",
    ]
    for c in checks:
        for r in c.results:
            lines.append(
                f"| {_md(r.model)} | `{r.budget.name}` | {human(r.actual, r.unit)} | "
                f"{human(r.budget.limit, r.unit)} | {delta_text(r)} | {'✅' if r.ok else '❌'} |"
            )
    notes = [f"- {_md(c.model)}: {_md(measurement_line(c.measurement))}" for c in checks if c.measurement]
    if notes:
        lines += ["", *notes]
    if bad:
        lines.append("")
        for r in bad:
            text = failure_message(r, with_layers=False, with_model=False)
            lines.append(f"- **{_md(r.model)}** `{r.budget.name}`: {_md(text)}")
            for cont in r.top:
                lines.append(f"  - `{cont.layer}`: {human(cont.value, r.unit)} ({percent(cont.share)})")
    lines.append("")
    lines.append(f"<sub>{summary_line(checks)}</sub>")
    out.write("\n".join(lines) + "\n")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(checks: list[ModelCheck], out: TextIO) -> None:
    from rich.table import Table
    from rich.text import Text

    from cnnscope.render.table import console

    con = console(out)
    t = Table(title="budgets", header_style="bold")
    for col, just in (
        ("model", "left"),
        ("budget", "left"),
        ("actual", "right"),
        ("limit", "right"),
        ("over / left", "right"),
        ("status", "left"),
    ):
        t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for c in checks:
        for r in c.results:
            status = Text("ok", style="green") if r.ok else Text("EXCEEDED", style="bold red")
            t.add_row(
                Text(r.model),
                Text(r.budget.name),
                Text(human(r.actual, r.unit)),
                Text(human(r.budget.limit, r.unit)),
                Text(delta_text(r)),
                status,
            )
    con.print(t)
    for c in checks:
        if c.measurement is not None:
            con.print(Text(f"{c.model}: {measurement_line(c.measurement)}", style="dim"))
    for c in checks:
        for r in c.results:
            if not r.ok:
                con.print(Text(f"✗ {failure_message(r, with_layers=False)}", style="red"))
                if r.loc is not None:
                    con.print(Text(f"  --> {r.loc}"))
                for cont in r.top:
                    where = f"  ({cont.loc})" if cont.loc else ""
                    con.print(
                        Text(f"    {cont.layer:<24} {human(cont.value, r.unit):>12}  {percent(cont.share):>6}{where}")
                    )
    con.print(Text(summary_line(checks), style="bold"))


def render_json(checks: list[ModelCheck], out: TextIO) -> None:
    doc = {
        "schema_version": 1,
        "ok": all(c.ok for c in checks),
        "exceeded": sum(1 for c in checks for r in c.results if not r.ok),
        "models": [c.to_json() for c in checks],
    }
    out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")


RENDERERS = {"table": render_table, "json": render_json, "github": render_github, "markdown": render_markdown}


def cli_budgets(named: dict[str, str | None], extra: list[str] | None) -> dict[str, Budget]:
    out: dict[str, Budget] = {}
    for key, value in named.items():
        if value is not None:
            b = make_budget(key, value, f"--{key.replace('_', '-')}")
            out[b.name] = b
    for text in extra or []:
        key, value = parse_assignment(text)
        b = make_budget(key, value, f"--budget {key}")
        out[b.name] = b
    return out


@app.command(rich_help_panel="CI")
def check(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="specs or sources to check; default: `model`/`models` from \\[tool.cnnscope]", show_default=False
        ),
    ] = None,
    max_params: _Limit = None,
    max_trainable_params: _Limit = None,
    max_macs: _Limit = None,
    max_flops: _Limit = None,
    max_activation_bytes: _Limit = None,
    max_training_bytes: _Limit = None,
    max_latency_ms: Annotated[
        str | None,
        typer.Option(
            show_default=False,
            metavar="MS",
            help="limit on the measured latency (runs the model; see --latency-statistic)",
            rich_help_panel="Measured budgets",
        ),
    ] = None,
    min_throughput: Annotated[
        str | None,
        typer.Option(
            show_default=False,
            metavar="N",
            help="lower limit on measured samples per second (runs the model)",
            rich_help_panel="Measured budgets",
        ),
    ] = None,
    budget: Annotated[
        list[str] | None,
        typer.Option(
            "--budget",
            "-B",
            metavar="KEY=N",
            show_default=False,
            help="a budget on any figure: max_param_bytes=10MiB, min_rf.coverage=100% (repeatable)",
        ),
    ] = None,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = "float32",
    optimizer: OptimizerOpt = "adam",
    format: Annotated[str, typer.Option("--format", "-f", help="table | json | github | markdown")] = "table",
    no_config: Annotated[bool, typer.Option("--no-config", help="ignore \\[tool.cnnscope] budgets and models")] = False,
    top: Annotated[int, typer.Option("--top", help="largest layers to name per exceeded budget")] = 3,
    device: Annotated[
        str | None,
        typer.Option(
            "--device", "-d", help="cpu | cuda | cuda:N (measured budgets; default cpu)", rich_help_panel=_MEASURE
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", help="torch CPU threads (measured budgets)", show_default=False, rich_help_panel=_MEASURE
        ),
    ] = None,
    latency_statistic: Annotated[
        str | None,
        typer.Option(
            "--latency-statistic",
            help="what latency_ms is: median | p90 of the timed blocks (default median)",
            rich_help_panel=_MEASURE,
        ),
    ] = None,
    warmup: Annotated[
        int | None, typer.Option("--warmup", help="untimed calls before timing (default 5)", rich_help_panel=_MEASURE)
    ] = None,
    iters: Annotated[
        int | None, typer.Option("--iters", help="minimum timed blocks (default 10)", rich_help_panel=_MEASURE)
    ] = None,
    min_time: Annotated[
        float | None, typer.Option("--min-time", help="minimum timed seconds (default 1)", rich_help_panel=_MEASURE)
    ] = None,
) -> int:
    """Fail (exit 1) when a model exceeds a budget: params, MACs, memory, or any other figure.

    A budget on a measured figure (latency_ms, throughput_per_s, peak_memory_bytes) times the
    model with the profiler's engine; only then is torch imported."""
    check_choice("--format", format, CHECK_FORMATS)
    check_memory_options(dtype, optimizer)
    if batch < 1:
        raise UsageError("bad-option", f"--batch must be a positive integer, got {batch}")
    if top < 0:
        raise UsageError("bad-option", f"--top must not be negative, got {top}")
    flags = cli_budgets(
        {
            "max_params": max_params,
            "max_trainable_params": max_trainable_params,
            "max_macs": max_macs,
            "max_flops": max_flops,
            "max_activation_bytes": max_activation_bytes,
            "max_training_bytes": max_training_bytes,
            "max_latency_ms": max_latency_ms,
            "min_throughput": min_throughput,
        },
        budget,
    )
    if latency_statistic is not None:
        check_choice("--latency-statistic", latency_statistic, LATENCY_STATISTICS)
    config = None
    if not no_config:
        from cnnscope.config import find_config

        config = find_config()
    measure = measure_options(
        config,
        dtype=dtype,
        device=device,
        threads=threads,
        latency_statistic=latency_statistic,
        warmup=warmup,
        iters=iters,
        min_time=min_time,
    )
    shape = parse_input(input)
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
    from cnnscope.render.progress import working

    checks = []
    for t in targets:  # a module's capture or a measured budget takes seconds: a spinner on a TTY
        with working(f"checking {t.source}"):
            checks.append(check_target(t, flags, shape, batch, top, measure, dtype=dtype, optimizer=optimizer))
    RENDERERS[format](checks, sys.stdout)
    return 0 if all(c.ok for c in checks) else 1
