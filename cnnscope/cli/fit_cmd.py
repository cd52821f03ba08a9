"""`fit`: input sizes for which every window fits exactly, per spatial dim."""

from __future__ import annotations

from typing import Annotated, Any

from cnnscope.cli.app import Option, app
from cnnscope.cli.common import BatchOpt, FormatOpt, InputOpt, KwargsOpt, SourceArg, check_format, load_graph
from cnnscope.errors import UsageError

# the per-dim options, by the dim names of a 1-d / 2-d / 3-d input (L; H, W; D, H, W)
DIM_OPTIONS = {"L": "--length", "D": "--depth", "H": "--height", "W": "--width"}


def _range_opt(name: str, what: str) -> Any:
    return Option(name, help=f"sizes to try along {what}, LO:HI inclusive (overrides --range)", show_default=False)


def _ranges(graph: Any, all_dims: str | None, per_dim: dict[str, str | None]) -> list[tuple[int, int]]:
    """One (lo, hi) per spatial dim: its own option, else --range, else the spec's size ± 32."""
    from cnnscope.layers.window import dim_name
    from cnnscope.learn.fit import parse_range

    spatial = graph.input_shape[1:]
    nd = len(spatial)
    if nd == 0:
        raise UsageError(
            "no-spatial-dims", f"`{graph.name}` takes an input with no spatial dims; there are no windows to fit"
        )
    names = [dim_name(nd, i) for i in range(nd)]
    for dim, text in per_dim.items():
        if text is not None and dim not in names:
            opts = ", ".join(DIM_OPTIONS[n] for n in names if n in DIM_OPTIONS) or "--range"
            raise UsageError(
                "bad-option",
                f"{DIM_OPTIONS[dim]}: `{graph.name}` takes a {nd}-d input (dims {', '.join(names)})",
                hint=f"use {opts}",
            )
    out = []
    for name, size in zip(names, spatial, strict=True):
        own = per_dim.get(name)
        if own is not None:
            out.append(parse_range(own, DIM_OPTIONS[name]))
        elif all_dims is not None:
            out.append(parse_range(all_dims))
        else:
            out.append((max(1, size - 32), size + 32))
    return out


@app.command(rich_help_panel="Learn")
def fit(
    source: SourceArg,
    range_: Annotated[
        str | None,
        Option(
            "--range",
            "-r",
            help="sizes to try along every spatial dim, LO:HI inclusive (default: the spec's size ± 32)",
            show_default=False,
        ),
    ] = None,
    height: Annotated[str | None, _range_opt("--height", "H")] = None,
    width: Annotated[str | None, _range_opt("--width", "W")] = None,
    depth: Annotated[str | None, _range_opt("--depth", "D (3-d inputs)")] = None,
    length: Annotated[str | None, _range_opt("--length", "L (1-d inputs)")] = None,
    all_: Annotated[bool, Option("--all", help="list every size, not only those that fit")] = False,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    kwargs: KwargsOpt = None,
) -> int:
    """Input sizes for which every window fits: no dropped pixels, no ceil-mode partial windows.
    Each spatial dim is scanned on its own (they do not interact unless a window follows a
    flatten). Exit 1 when some dim has no size that fits."""
    from cnnscope.learn.fit import scan_dims
    from cnnscope.render import emit
    from cnnscope.render.views.fit import document

    check_format(format)
    graph = load_graph(source, input, kwargs)
    ranges = _ranges(graph, range_, {"H": height, "W": width, "D": depth, "L": length})
    res = scan_dims(graph, ranges, batch)
    emit(document(graph, res, all_), format)
    return 0 if res.any_fit else 1
