"""`profile` (alias `run`): time real forward passes; latency, throughput, memory, roofline.

Torch is imported only when the command runs, never when the CLI starts.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cnnscope.cli.app import app
from cnnscope.cli.common import FormatOpt, InputOpt, KwargsOpt, check_format, load_graph
from cnnscope.errors import UsageError
from cnnscope.render.table import console
from cnnscope.render.units import fmt, get_path, plural

if TYPE_CHECKING:
    from cnnscope.profile.runner import BatchResult, ProfileResult

DEFAULT_MODEL = "resnet18"
EXIT_INTERRUPTED = 130

Col = tuple[str, str, str]  # key (dotted path), title, unit

SUMMARY: list[Col] = [
    ("batch", "batch", "count"),
    ("status", "status", "text"),
    ("latency.median_ms", "median", "ms"),
    ("latency.p10_ms", "p10", "ms"),
    ("latency.p90_ms", "p90", "ms"),
    ("latency.iters", "iters", "count"),
    ("throughput_per_s", "samples/s", "per_s"),
    ("roofline.achieved_flops_per_s", "achieved", "flops_rate"),
    ("roofline.pct_of_peak_flops", "% peak", "percent"),
    ("roofline.intensity_flop_per_byte", "FLOP/B", "intensity"),
    ("roofline.bound", "bound", "text"),
    ("peak_memory_bytes", "peak mem", "bytes"),
    ("first_call_ms", "first call", "ms"),
]

LAYERS: list[Col] = [
    ("name", "layer", "text"),
    ("type", "type", "text"),
    ("time_ms", "time", "ms"),
    ("share", "share", "percent"),
    ("flops", "FLOPs", "flops"),
    ("achieved_flops_per_s", "achieved", "flops_rate"),
    ("achieved_bytes_per_s", "bandwidth", "bytes_rate"),
    ("intensity_flop_per_byte", "FLOP/B", "intensity"),
    ("bound", "bound", "text"),
    ("pct_of_roof", "% roof", "percent"),
]


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


def _top(rows: list[dict[str, Any]], top: int | None) -> list[dict[str, Any]]:
    if top is None:
        return rows
    return sorted(rows, key=lambda r: -(r.get("time_ms") or 0.0))[:top]


def _result_json(result: ProfileResult, top: int | None) -> dict[str, Any]:
    out = result.to_json()
    if top is not None:
        for r in out["results"]:
            if r.get("layers") is not None:
                shown = _top(r["layers"], top)
                r["layers_omitted"] = len(r["layers"]) - len(shown)
                r["layers"] = shown
    return out


def _headline(result: ProfileResult) -> list[str]:
    o = result.options
    flags = [f"dtype {o.dtype} (cast)"]
    if o.channels_last:
        flags.append("channels-last")
    if o.compile:
        flags.append(
            "torch.compile" + (f", compiled in {fmt(result.compile_s * 1000, 'ms')}" if result.compile_s else "")
        )
    lines = [
        f"{result.model} · input {fmt(list(result.input_shape), 'shape')} · {result.device} ({result.device_name}), "
        f"{result.threads} threads · " + ", ".join(flags),
        f"timer: {result.timer}; warm-up {o.warmup}, at least {plural(o.iters, 'block')} "
        f"and {o.min_time_s:g} s per batch size",
        f"device peak: {fmt(result.peak.flops_per_s, 'flops_rate')}, {fmt(result.peak.bytes_per_s, 'bytes_rate')} "
        f"({result.peak.source})",
    ]
    mem = next((r.memory_kind for r in result.results if r.memory_kind), "")
    if mem:
        lines.append(f"peak mem: {mem}")
    return lines


def _overhead_line(r: BatchResult) -> str:
    p = r.per_layer or {}

    def signed(x: Any) -> str:
        return "–" if x is None else ("+" if x >= 0 else "") + fmt(x, "percent")

    return (
        f"per-layer mode (forward hooks, {p.get('runs')} runs): layers sum to {fmt(p.get('sum_layers_ms'), 'ms')}"
        f" = {signed(p.get('overhead_ratio'))} vs the plain end-to-end {fmt(p.get('end_to_end_ms'), 'ms')}; "
        f"the hooked forward took {fmt(p.get('hooked_forward_ms'), 'ms')} ({signed(p.get('hook_overhead_ratio'))})"
    )


def _rows_summary(result: ProfileResult) -> list[dict[str, Any]]:
    return [r.to_json() for r in result.results]


def _table(out: TextIO, result: ProfileResult, top: int | None) -> None:
    con = console(out)
    for line in _headline(result):
        con.print(Text(line, style="dim"))
    t = Table(title=f"profile: {result.model}", header_style="bold")
    for _, title, unit in SUMMARY:
        t.add_column(title, justify="left" if unit == "text" else "right", no_wrap=True)
    for row in _rows_summary(result):
        t.add_row(*(Text(fmt(get_path(row, k), u)) for k, _, u in SUMMARY))
    con.print(t)
    for r in result.results:
        if r.error:
            con.print(Text(f"batch {r.batch}: {r.status}: {r.error}", style="yellow"))
        if r.layers is None:
            continue
        lt = Table(title=f"per layer, batch {r.batch}" + (f" (top {top} by time)" if top else ""), header_style="bold")
        for _, title, unit in LAYERS:
            lt.add_column(title, justify="left" if unit == "text" else "right", no_wrap=True)
        for row in _top(r.layers, top):
            lt.add_row(*(Text(fmt(get_path(row, k), u)) for k, _, u in LAYERS))
        con.print(lt)
        con.print(Text(_overhead_line(r), style="dim"))
    for note in result.notes:
        con.print(f"[dim]note:[/] {escape(note)}")


def _markdown(result: ProfileResult, top: int | None) -> str:
    def table(cols: list[Col], rows: list[dict[str, Any]]) -> list[str]:
        lines = [
            "| " + " | ".join(c[1] for c in cols) + " |",
            "|" + "|".join("---" if c[2] == "text" else "---:" for c in cols) + "|",
        ]
        for row in rows:
            lines.append("| " + " | ".join(fmt(get_path(row, k), u).replace("|", "\\|") for k, _, u in cols) + " |")
        return lines

    lines = [f"### profile: {result.model}", ""]
    lines += [f"- {x}" for x in _headline(result)] + [""]
    lines += table(SUMMARY, _rows_summary(result))
    for r in result.results:
        if r.layers is not None:
            lines += ["", f"#### per layer, batch {r.batch}", ""]
            lines += table(LAYERS, _top(r.layers, top))
            lines += ["", f"> {_overhead_line(r)}"]
    if result.notes:
        lines.append("")
        lines += [f"> note: {n}" for n in result.notes]
    return "\n".join(lines) + "\n"


def _csv(result: ProfileResult, top: int | None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if any(r.layers is not None for r in result.results):
        cols = [("batch", "", ""), *LAYERS]
        w.writerow([c[0] for c in cols])
        for r in result.results:
            for row in _top(r.layers or [], top):
                w.writerow([r.batch] + [_plain(get_path(row, k)) for k, _, _ in LAYERS])
    else:
        w.writerow([c[0] for c in SUMMARY])
        for row in _rows_summary(result):
            w.writerow([_plain(get_path(row, k)) for k, _, _ in SUMMARY])
    return buf.getvalue()


def _plain(v: Any) -> Any:
    return "" if v is None else v


def emit(result: ProfileResult, fmt_name: str, top: int | None, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if fmt_name == "json":
        out.write(json.dumps(_result_json(result, top), indent=2) + "\n")
    elif fmt_name == "csv":
        out.write(_csv(result, top))
    elif fmt_name == "markdown":
        out.write(_markdown(result, top))
    else:
        _table(out, result, top)


@app.command("profile", rich_help_panel="Profile")
def profile_cmd(
    source: Annotated[
        str | None,
        typer.Argument(
            help="a YAML spec, a built-in name or a module (pkg.mod:Net); default: the project's `model`, "
            f"else {DEFAULT_MODEL}",
            show_default=False,
        ),
    ] = None,
    input: InputOpt = None,
    kwargs: KwargsOpt = None,
    batch: Annotated[str, typer.Option("--batch", "-b", help="batch sizes to sweep: 1,8,32")] = "1",
    device: Annotated[str, typer.Option("--device", "-d", help="cpu | cuda | cuda:N")] = "cpu",
    dtype: Annotated[
        str, typer.Option("--dtype", help="float32 | float16 | bfloat16 (weights and input cast)")
    ] = "float32",
    channels_last: Annotated[bool, typer.Option("--channels-last", help="NHWC memory format")] = False,
    compile: Annotated[
        bool, typer.Option("--compile", help="torch.compile the module (compile time reported apart)")
    ] = False,
    threads: Annotated[int | None, typer.Option("--threads", help="torch CPU threads", show_default=False)] = None,
    warmup: Annotated[int, typer.Option("--warmup", help="untimed calls before timing, per batch size")] = 5,
    iters: Annotated[int, typer.Option("--iters", help="minimum timed blocks per batch size")] = 10,
    min_time: Annotated[float, typer.Option("--min-time", help="minimum timed seconds per batch size")] = 1.0,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="time every layer (forward hooks)")] = False,
    top: Annotated[
        int | None, typer.Option("--top", help="with --per-layer: only the N slowest layers", show_default=False)
    ] = None,
    peak_tflops: Annotated[
        float | None,
        typer.Option("--peak-tflops", help="device peak TFLOP/s (overrides the table)", show_default=False),
    ] = None,
    peak_gbps: Annotated[
        float | None,
        typer.Option("--peak-gbps", help="device peak memory GB/s (overrides the table)", show_default=False),
    ] = None,
    format: FormatOpt = "table",
    find_max_batch: Annotated[
        bool,
        typer.Option(
            "--find-max-batch", help="bisect real passes for the largest batch that fits (see --memory-limit)"
        ),
    ] = False,
    train: Annotated[
        bool, typer.Option("--train", help="with --find-max-batch: forward + backward + optimizer step")
    ] = False,
    optimizer: Annotated[str, typer.Option("--optimizer", help="with --train: sgd | sgd-momentum | adam")] = "adam",
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            help="with --find-max-batch: the budget, e.g. 2GiB (needed on the CPU)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Time real forward passes: latency (median, p10/p90), throughput, peak memory, roofline."""
    check_format(format)
    if find_max_batch:
        from cnnscope.cli.common import check_choice
        from cnnscope.whatif.fitmem import parse_bytes

        check_choice("--optimizer", optimizer, ("sgd", "sgd-momentum", "adam"))
        limit = parse_bytes(memory_limit, "--memory-limit") if memory_limit is not None else None
        src, _why = resolve_source(source)
        graph = load_graph(src, input, kwargs)
        from cnnscope.profile.maxbatch import find_max_batch as run_find
        from cnnscope.render.maxbatch_text import emit_max_batch

        err = console(sys.stderr, stderr=True)
        res = run_find(
            graph, device, dtype, train, optimizer, limit, progress=lambda m: err.print(Text(m, style="dim"))
        )
        emit_max_batch(res, format)
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
    emit(result, format, top)
    if result.interrupted:
        err.print("[yellow]interrupted[/]: the results above are what was measured before Ctrl-C")
        raise typer.Exit(EXIT_INTERRUPTED)


def _run_with_progress(graph: Any, opts: Any, stream: TextIO) -> ProfileResult:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cnnscope.profile.runner import profile

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
