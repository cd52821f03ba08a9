"""`shift`: translation equivariance per layer — the shift lattice, aliasing, padding; measured with --empirical."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from cnnscope.analyze.base import analyze
from cnnscope.cli.app import Option, app
from cnnscope.cli.common import FormatOpt, InputOpt, KwargsOpt, SourceArg, check_choice, check_format, load_graph
from cnnscope.errors import UsageError

EmpiricalOpt = Annotated[
    bool,
    Option("--empirical", "-e", help="also measure the errors with real forward passes (imports torch)"),
]
ShiftsOpt = Annotated[
    str | None,
    Option(
        "--shifts",
        help="shifts to measure: 1,2,4 or 1-8 (default: every shift up to the largest lattice, "
        "or 1, the powers of two and each layer's lattice when that is above 8)",
        show_default=False,
    ),
]
AlongOpt = Annotated[str, Option("--along", help="spatial dims to shift, by the same amount: all | H | W | H,W")]
InputsOpt = Annotated[int, Option("--inputs", help="random inputs per seed")]
SeedsOpt = Annotated[int, Option("--seeds", help="random initializations (each with its own inputs)")]
SeedOpt = Annotated[int, Option("--seed", help="first random seed")]
FillOpt = Annotated[str, Option("--fill", help="how the shifted input is filled: both | circular | zeros")]
DeviceOpt = Annotated[str, Option("--device", help="cpu | cuda | cuda:N")]
TolOpt = Annotated[float, Option("--tol", help="relative error below which a shift counts as exact")]
PlotOpt = Annotated[
    Path | None,
    Option(
        "--plot", help="draw error against depth to this PNG (with --empirical; the `plot` extra)", show_default=False
    ),
]


def parse_shifts(text: str | None) -> list[int] | None:
    if text is None:
        return None
    out: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            if "-" in part[1:]:
                lo, hi = (int(v) for v in part.split("-", 1))
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        out = []
    if not out:
        raise UsageError("bad-option", f"--shifts must be positive integers or ranges (1,2,4 or 1-8), got `{text}`")
    return out


@app.command("shift", rich_help_panel="Learn")
def shift(
    source: SourceArg,
    input: InputOpt = None,
    format: FormatOpt = "table",
    empirical: EmpiricalOpt = False,
    shifts: ShiftsOpt = None,
    along: AlongOpt = "all",
    inputs: InputsOpt = 4,
    seeds: SeedsOpt = 2,
    seed: SeedOpt = 0,
    fill: FillOpt = "both",
    device: DeviceOpt = "cpu",
    tol: TolOpt = 1e-4,
    plot: PlotOpt = None,
    kwargs: KwargsOpt = None,
) -> None:
    """Translation equivariance per layer: the shifts of the input it commutes with (multiples of
    the cumulative stride), where aliasing enters, where padding leaks position, where the network
    becomes shift-invariant; --empirical measures the errors at random initialization."""
    check_format(format)
    check_choice("--fill", fill, ("both", "circular", "zeros"))
    wanted = parse_shifts(shifts)
    if not empirical:
        given = [
            name
            for name, v, default in (
                ("--shifts", shifts, None),
                ("--plot", plot, None),
                ("--device", device, "cpu"),
                ("--fill", fill, "both"),
                ("--along", along, "all"),
            )
            if v != default
        ]
        if given:
            raise UsageError(
                "bad-option", f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} with --empirical"
            )
    if plot is not None:
        from cnnscope.render.rf_chart import require_matplotlib

        require_matplotlib()  # fail before any work when the extra is missing
    graph = load_graph(source, input, kwargs)
    report = analyze(graph, ["shift"])
    measured = None
    if empirical:
        from cnnscope.profile.shift import measure_shifts, table_fields
        from cnnscope.profile.shift_geometry import FILLS

        measured = measure_shifts(
            graph,
            wanted,
            along=along,
            inputs=inputs,
            seeds=seeds,
            seed=seed,
            fills=FILLS if fill == "both" else (fill,),
            device=device,
            tol=tol,
        )
        for row in report.rows:
            layer = measured.layers[row["name"]]
            row["shift_measured"] = {**layer.to_json(tol), **table_fields(layer, tol)}
        report.meta["shift_empirical"] = measured.to_json()
    from cnnscope.render import emit
    from cnnscope.render.views.shift import document, plot_curves

    emit(document(report), format)
    if plot is not None and measured is not None:
        from cnnscope.render.shift_chart import save_plot

        save_plot(plot, *plot_curves(report, measured), f"{graph.name}: equivariance error")
        sys.stderr.write(f"wrote {plot}\n")
