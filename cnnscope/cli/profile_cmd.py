"""`profile` (alias `run`): time real forward passes; latency, throughput, memory, roofline.

Torch is imported only when the command runs, never when the CLI starts.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, TextIO

from cnnscope.cli.app import Argument, Exit, Option, app
from cnnscope.cli.common import FormatOpt, InputOpt, KwargsOpt, check_format, load_graph
from cnnscope.errors import UsageError

if TYPE_CHECKING:
    from cnnscope.profile.runner import ProfileResult

DEFAULT_MODEL = "resnet18"
EXIT_INTERRUPTED = 130


def parse_batches(text: str) -> tuple[int, ...]:
    try:
        out = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        out = ()
    if not out or any(b < 1 for b in out):
        raise UsageError(
            "bad-option",
            f"--batch must be positive integers separated by commas, got `{text}`",
            hint="e.g. --batch 1,8,32",
        )
    return out


def resolve_source(source: str | None) -> tuple[str, str]:
    """(source, why): the argument, else the project's configured model, else the default."""
    if source:
        return source, ""
    from cnnscope.config import find_config

    cfg = find_config()
    model = cfg.get("model")
    if isinstance(model, str) and model:
        return cfg.resolve(model), f"the project's model from {cfg.path}"
    return DEFAULT_MODEL, "the built-in default (no `model` in [tool.cnnscope] or cnnscope.toml)"


@app.command("profile", rich_help_panel="Profile")
def profile_cmd(
    source: Annotated[
        str | None,
        Argument(
            help="a YAML spec, a built-in name or a module (pkg.mod:Net); default: the project's `model`, "
            f"else {DEFAULT_MODEL}",
            show_default=False,
        ),
    ] = None,
    input: InputOpt = None,
    kwargs: KwargsOpt = None,
    batch: Annotated[str, Option("--batch", "-b", help="batch sizes to sweep: 1,8,32")] = "1",
    device: Annotated[str, Option("--device", "-d", help="cpu | cuda | cuda:N")] = "cpu",
    dtype: Annotated[str, Option("--dtype", help="float32 | float16 | bfloat16 (weights and input cast)")] = "float32",
    channels_last: Annotated[bool, Option("--channels-last", help="NHWC memory format")] = False,
    compile: Annotated[
        bool, Option("--compile", help="torch.compile the module (compile time reported apart)")
    ] = False,
    threads: Annotated[int | None, Option("--threads", help="torch CPU threads", show_default=False)] = None,
    warmup: Annotated[int, Option("--warmup", help="untimed calls before timing, per batch size")] = 5,
    iters: Annotated[int, Option("--iters", help="minimum timed blocks per batch size")] = 10,
    min_time: Annotated[float, Option("--min-time", help="minimum timed seconds per batch size")] = 1.0,
    per_layer: Annotated[bool, Option("--per-layer", help="time every layer (forward hooks)")] = False,
    top: Annotated[
        int | None, Option("--top", help="with --per-layer: only the N slowest layers", show_default=False)
    ] = None,
    peak_tflops: Annotated[
        float | None,
        Option("--peak-tflops", help="device peak TFLOP/s (overrides the table)", show_default=False),
    ] = None,
    peak_gbps: Annotated[
        float | None,
        Option("--peak-gbps", help="device peak memory GB/s (overrides the table)", show_default=False),
    ] = None,
    format: FormatOpt = "table",
    find_max_batch: Annotated[
        bool,
        Option("--find-max-batch", help="bisect real passes for the largest batch that fits (see --memory-limit)"),
    ] = False,
    train: Annotated[
        bool, Option("--train", help="with --find-max-batch: forward + backward + optimizer step")
    ] = False,
    optimizer: Annotated[str, Option("--optimizer", help="with --train: sgd | sgd-momentum | adam")] = "adam",
    memory_limit: Annotated[
        str | None,
        Option(
            "--memory-limit",
            help="with --find-max-batch: the budget, e.g. 2GiB (needed on the CPU)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Time real forward passes: latency (median, p10/p90), throughput, peak memory, roofline."""
    from rich.text import Text

    from cnnscope.render import emit
    from cnnscope.render.layout import console
    from cnnscope.render.views.profile import document

    check_format(format)
    if find_max_batch:
        from cnnscope.cli.common import check_choice
        from cnnscope.whatif.fitmem import parse_bytes

        check_choice("--optimizer", optimizer, ("sgd", "sgd-momentum", "adam"))
        limit = parse_bytes(memory_limit, "--memory-limit") if memory_limit is not None else None
        src, _why = resolve_source(source)
        graph = load_graph(src, input, kwargs)
        from cnnscope.profile.maxbatch import find_max_batch as run_find
        from cnnscope.render.views import maxbatch

        err = console(sys.stderr, stderr=True)
        res = run_find(
            graph, device, dtype, train, optimizer, limit, progress=lambda m: err.print(Text(m, style="dim"))
        )
        emit(maxbatch.document(res), format)
        return
    batches = parse_batches(batch)
    if top is not None and top < 1:
        raise UsageError("bad-option", f"--top must be at least 1, got {top}")
    src, why = resolve_source(source)
    err = console(sys.stderr, stderr=True)
    if why:
        err.print(Text(f"profiling `{src}`: {why}"))
    graph = load_graph(src, input, kwargs)

    from cnnscope.profile.runner import ProfileOptions, normalize_dtype

    opts = ProfileOptions(
        device=device,
        batches=batches,
        dtype=normalize_dtype(dtype),
        channels_last=channels_last,
        compile=compile,
        threads=threads,
        warmup=warmup,
        iters=iters,
        min_time_s=min_time,
        per_layer=per_layer,
        peak_tflops=peak_tflops,
        peak_gbps=peak_gbps,
    )
    result = _run_with_progress(graph, opts, sys.stderr)
    emit(document(result, top), format)
    if result.interrupted:
        err.print("[yellow]interrupted[/]: the results above are what was measured before Ctrl-C")
        raise Exit(EXIT_INTERRUPTED)


def _run_with_progress(graph: Any, opts: Any, stream: TextIO) -> ProfileResult:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cnnscope.profile.runner import profile
    from cnnscope.render.layout import console

    con = console(stream, stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=con,
        transient=True,
        disable=not stream.isatty(),
    ) as bar:
        task = bar.add_task("building the module", total=1.0)

        def tick(what: str, frac: float) -> None:
            bar.update(task, description=what, completed=min(1.0, frac))

        return profile(graph, opts, tick)


app.command("run", rich_help_panel="Profile", help="Same as `profile` (time real forward passes).")(profile_cmd)
