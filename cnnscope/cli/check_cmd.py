"""`check`: the CI gate. Budgets on any figure; exit 0 within, 1 exceeded, 2 bad input."""

from __future__ import annotations

from typing import Annotated, Any

from cnnscope.cli.app import Argument, Option, app
from cnnscope.cli.common import (
    BatchOpt,
    DtypeOpt,
    FormatOpt,
    InputOpt,
    OptimizerOpt,
    check_choice,
    check_format,
    check_memory_options,
    parse_input,
)
from cnnscope.errors import UsageError

_MEASURE = "Measured budgets"
_Limit = Annotated[
    str | None, Option(show_default=False, metavar="N", help="limit on this figure: 12M, 1.5G, 64MiB, 64MB, 500K")
]


def _measured(metavar: str, help: str) -> Any:
    """A budget on a measured figure (its own help panel)."""
    return Option(show_default=False, metavar=metavar, help=help, rich_help_panel=_MEASURE)


@app.command(rich_help_panel="CI")
def check(
    sources: Annotated[
        list[str] | None,
        Argument(
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
        str | None, _measured("MS", "limit on the measured latency (runs the model; see --latency-statistic)")
    ] = None,
    min_throughput: Annotated[
        str | None, _measured("N", "lower limit on measured samples per second (runs the model)")
    ] = None,
    budget: Annotated[
        list[str] | None,
        Option(
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
    format: FormatOpt = "table",
    no_config: Annotated[bool, Option("--no-config", help="ignore \\[tool.cnnscope] budgets and models")] = False,
    top: Annotated[int, Option("--top", help="largest layers to name per exceeded budget")] = 3,
    device: Annotated[
        str | None,
        Option("--device", "-d", help="cpu | cuda | cuda:N (measured budgets; default cpu)", rich_help_panel=_MEASURE),
    ] = None,
    threads: Annotated[
        int | None,
        Option("--threads", help="torch CPU threads (measured budgets)", show_default=False, rich_help_panel=_MEASURE),
    ] = None,
    latency_statistic: Annotated[
        str | None,
        Option(
            "--latency-statistic",
            help="what latency_ms is: median | p90 of the timed blocks (default median)",
            rich_help_panel=_MEASURE,
        ),
    ] = None,
    warmup: Annotated[
        int | None, Option("--warmup", help="untimed calls before timing (default 5)", rich_help_panel=_MEASURE)
    ] = None,
    iters: Annotated[
        int | None, Option("--iters", help="minimum timed blocks (default 10)", rich_help_panel=_MEASURE)
    ] = None,
    min_time: Annotated[
        float | None, Option("--min-time", help="minimum timed seconds (default 1)", rich_help_panel=_MEASURE)
    ] = None,
) -> int:
    """Fail (exit 1) when a model exceeds a budget: params, MACs, memory, or any other figure.

    A budget on a measured figure (latency_ms, throughput_per_s, peak_memory_bytes) times the
    model with the profiler's engine; only then is torch imported."""
    from cnnscope.gate import LATENCY_STATISTICS, cli_budgets, measure_options, run_check
    from cnnscope.render import emit
    from cnnscope.render.progress import working
    from cnnscope.render.views.check import document

    check_format(format)
    check_memory_options(dtype, optimizer)
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
    checks = run_check(  # a module's capture or a measured budget takes seconds: a spinner on a TTY
        sources,
        flags,
        config,
        parse_input(input),
        batch,
        top,
        measure,
        each=lambda t: working(f"checking {t.source}"),
        dtype=dtype,
        optimizer=optimizer,
    )
    emit(document(checks), format)
    return 0 if all(c.ok for c in checks) else 1
