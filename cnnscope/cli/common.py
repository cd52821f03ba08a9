"""Options and helpers shared by the commands (argument parsing stays in cli/)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from cnnscope.analyze.base import Report, analyze
from cnnscope.cli.app import Argument, Option, app
from cnnscope.errors import UsageError, did_you_mean
from cnnscope.graph import Graph
from cnnscope.render import FORMATS, render

# What SOURCE may be, said the same way in every command's help (typer folds it at 80 columns).
SOURCE_HELP = (
    "What to analyze: a YAML spec file (net.yaml), a built-in spec name (resnet18; `cnnscope zoo` "
    "lists them) or a PyTorch module (pkg.mod:Net, path/file.py:build, torchvision:resnet50, timm:NAME)."
)

# --dtype: one vocabulary for every command (memory figures, budgets, sweeps and profiles)
DTYPE_ALIASES = {
    "float32": "float32",
    "fp32": "float32",
    "f32": "float32",
    "float": "float32",
    "single": "float32",
    "float16": "float16",
    "fp16": "float16",
    "f16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}
DTYPE_HELP = "float32 | float16 | bfloat16; also fp32, float, fp16, half, bf16"


def normalize_dtype(value: str) -> str:
    """``bf16`` -> ``bfloat16``; an unknown spelling is refused with the known ones."""
    d = DTYPE_ALIASES.get(value.strip().lower())
    if d is None:
        raise UsageError(
            "bad-option",
            f"--dtype must be one of float32, float16, bfloat16 (or {DTYPE_HELP.split('; also ')[1]}), "
            f"got `{value}`{did_you_mean(value, tuple(DTYPE_ALIASES))}",
        )
    return d


def _dtype_callback(value: str | None) -> str | None:
    """Spell --dtype one way before a command sees it; an unknown value is refused by the command."""
    if value is None:
        return None
    return DTYPE_ALIASES.get(value.strip().lower(), value)


# ---- shell completion (typer's --install-completion / --show-completion) ----------------


def complete_source(incomplete: str) -> list[str]:
    """Built-in spec names and YAML files in the current folder."""
    from pathlib import Path

    from cnnscope.frontends.sources import builtin_names

    out = [n for n in builtin_names() if n.startswith(incomplete)]
    try:
        here = Path(incomplete).parent if "/" in incomplete else Path(".")
        for p in sorted(here.iterdir()):
            text = str(p) if "/" in incomplete else p.name
            if text.startswith(incomplete) and (p.is_dir() or p.suffix.lower() in (".yaml", ".yml")):
                out.append(text + ("/" if p.is_dir() else ""))
    except OSError:
        pass
    return out


def complete_format(incomplete: str) -> list[str]:
    return [f for f in FORMATS if f.startswith(incomplete)]


def complete_dtype(incomplete: str) -> list[str]:
    return [d for d in DTYPE_ALIASES if d.startswith(incomplete)]


def complete_layer_type(incomplete: str) -> list[str]:
    from cnnscope.layers import registry

    return sorted(t for t in registry() if t.startswith(incomplete))


def complete_optimizer(incomplete: str) -> list[str]:
    from cnnscope.analyze.memory import OPTIMIZER_STATES

    return [o for o in OPTIMIZER_STATES if o.startswith(incomplete)]


SourceArg = Annotated[
    str,
    Argument(help=SOURCE_HELP, show_default=False, autocompletion=complete_source),
]
InputOpt = Annotated[
    list[str] | None,
    Option(
        "--input",
        "-i",
        help="Input shape without batch, channels first: 3,224,224 (or 3x224x224). Repeat it for a "
        "module whose forward takes several inputs, in the forward's order.",
        show_default=False,
    ),
]


def positive_batch(value: int | None) -> int | None:
    """--batch, checked once for every command that takes one."""
    if value is not None and value < 1:
        raise UsageError("bad-option", f"--batch must be a positive integer, got {value}")
    return value


BatchOpt = Annotated[int, Option("--batch", "-b", help="Batch size.", callback=positive_batch)]
FormatOpt = Annotated[
    str,
    Option(
        "--format",
        "-f",
        help=" | ".join(FORMATS) + " (github: workflow annotations)",
        autocompletion=complete_format,
    ),
]
DtypeOpt = Annotated[
    str,
    Option("--dtype", help=DTYPE_HELP + " (memory figures).", callback=_dtype_callback, autocompletion=complete_dtype),
]
OptimizerOpt = Annotated[
    str,
    Option("--optimizer", help="sgd | sgd-momentum | adam (training memory).", autocompletion=complete_optimizer),
]
KwargsOpt = Annotated[
    str | None,
    Option("--kwargs", help="JSON object of arguments for a module class or factory", show_default=False),
]


def parse_inputs(texts: str | Sequence[str] | None) -> list[tuple[int, ...]]:
    """Every ``--input`` given, parsed, in order (a module's forward takes them in that order)."""
    if texts is None:
        return []
    if isinstance(texts, str):
        texts = [texts]
    return [_parse_shape(t) for t in texts]


def parse_input(texts: str | Sequence[str] | None) -> tuple[int, ...] | None:
    """The one ``--input`` of a command that takes one (None when none was given)."""
    shapes = parse_inputs(texts)
    if len(shapes) > 1:
        raise UsageError(
            "bad-option",
            f"--input was given {len(shapes)} times; this command takes one input shape",
            hint="repeat --input only for a module whose forward takes several inputs (summary, shapes, params, ...)",
        )
    return shapes[0] if shapes else None


def _parse_shape(text: str) -> tuple[int, ...]:
    """``3,224,224`` (or ``3x224x224``) -> (3, 224, 224): 1 to 4 positive integers of at most
    10^18, each separator between two of them (``3,,224`` and ``1,x`` are refused)."""
    parts = [p.strip() for p in text.strip().replace("×", ",").replace("x", ",").replace("X", ",").split(",")]
    ok = 1 <= len(parts) <= 4 and all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts)
    dims = tuple(int(p) for p in parts) if ok else ()
    if not dims or any(d < 1 or d > 10**18 for d in dims):
        raise UsageError(
            "bad-input-shape",
            f"--input must be 1 to 4 positive integers (at most 10^18), channels first, got `{text[:80]}`",
            hint="e.g. --input 3,224,224 (no batch; use --batch for that)",
        )
    return dims


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(
            "bad-option", f"{option} must be one of {', '.join(choices)}, got `{value}`{did_you_mean(value, choices)}"
        )
    return value


def check_memory_options(dtype: str, optimizer: str) -> None:
    """--dtype and --optimizer against the memory analyzer's own tables (one list, not three)."""
    from cnnscope.analyze.memory import OPTIMIZER_STATES

    normalize_dtype(dtype)
    check_choice("--optimizer", optimizer, tuple(OPTIMIZER_STATES))


def check_format(value: str, extra: tuple[str, ...] = ()) -> str:
    return check_choice("--format", value, FORMATS + extra)


def load_graph(
    source: str, input_text: str | Sequence[str] | None = None, kwargs: str | None = None, batch: int = 1
) -> Graph:
    """The graph of ``source``; a module's capture (seconds of torch work) shows a spinner on a TTY.

    A module is captured at ``batch``, the batch it is then analyzed at: a reshape that folds the
    batch behind another dim (MViT's pooled attention) is only known at the batch it ran with."""
    from cnnscope.frontends.sources import is_module_source, load

    opts: dict[str, Any] = {}
    if kwargs is not None:
        opts["kwargs"] = kwargs
    shapes = parse_inputs(input_text)
    shape = shapes[0] if shapes else None
    if not is_module_source(source):
        if len(shapes) > 1:
            raise UsageError(
                "bad-option",
                f"--input was given {len(shapes)} times; a YAML spec has one input",
                hint="give --input once (several inputs are for a module whose forward takes them)",
            )
        return load(source, shape, **opts)
    if len(shapes) > 1:
        opts["inputs"] = shapes[1:]
    if batch > 1:
        opts["batch"] = batch
    from cnnscope.render.progress import working

    with working(f"capturing {source} with torch"):
        return load(source, shape, **opts)


def run_report(
    source: str,
    analyzers: list[str] | None,
    input_text: str | Sequence[str] | None,
    batch: int,
    fmt: str,
    title: str | None = None,
    kwargs: str | None = None,
    **options: Any,
) -> Report:
    check_format(fmt)
    graph = load_graph(source, input_text, kwargs, batch)
    report = analyze(graph, analyzers, batch=batch, **options)
    render(report, fmt, sys.stdout, sys.stderr, title)
    return report


def source_command(
    module: str, name: str, doc: str, run: Callable[[str, list[str] | None, int, str, str | None], Any], panel: str
) -> Callable[..., Any]:
    """Register the command ``name`` of the command module ``module`` (cli.COMMANDS names it)
    that takes SOURCE and the common options alone: ``run(source, input, batch, format, kwargs)``
    (its return value is the exit code, None for 0)."""

    def command(
        source: SourceArg,
        input: InputOpt = None,
        batch: BatchOpt = 1,
        format: FormatOpt = "table",
        kwargs: KwargsOpt = None,
    ) -> Any:
        return run(source, input, batch, format, kwargs)

    command.__name__ = command.__qualname__ = name
    command.__module__ = module
    command.__doc__ = doc
    return app.command(name, rich_help_panel=panel)(command)


def report_command(module: str, name: str, analyzers: list[str], doc: str, **options: Any) -> Callable[..., Any]:
    """A :func:`source_command` that writes the ``analyzers``' report of SOURCE in any format
    (the analytic tables: shapes, params, flops)."""

    def run(source: str, input: list[str] | None, batch: int, format: str, kwargs: str | None) -> None:
        run_report(source, analyzers, input, batch, format, kwargs=kwargs, **options)

    return source_command(module, name, doc, run, "Analyze")
