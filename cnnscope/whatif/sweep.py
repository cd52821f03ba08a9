"""`sweep`: every figure as a function of the input size, per size and as an exact formula.

One graph, many sizes: the graph is loaded once and only its input shape is replaced per size
(``dataclasses.replace``). A size at which a layer rejects its input is a row that names the
layer and the reason, not an abort. The formula comes from :mod:`cnnscope.whatif.formula`; every
valid row records whether the formula gives exactly the analyzer's figures there.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from math import lcm
from typing import Any

from cnnscope.analyze.base import Column, Report, analyze
from cnnscope.analyze.rf import receptive_fields
from cnnscope.errors import CnnscopeError, UsageError
from cnnscope.graph import INPUT, Graph
from cnnscope.layers.base import Shape
from cnnscope.learn.fit import window_fits
from cnnscope.whatif import formula as F
from cnnscope.whatif.symbolic import NotSymbolic

MAX_SIZES = 4096
MAX_PIECES = 8  # traces kept for sizes where an earlier trace's guards do not hold
_RANGE = re.compile(r"^(\d+)\.\.(\d+)(?:/(\d+))?$")


def parse_sizes(text: str, ndim: int) -> list[tuple[int, ...]]:
    """``128,224`` | ``96..512/32`` | ``1024x768`` | ``16x112x112``: one tuple per size, one
    entry per spatial dim (a single number is used for every dim)."""
    if ndim < 1:
        raise UsageError("no-spatial-dims", "the model's input has no spatial dims: there is no size to sweep")
    out: list[tuple[int, ...]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        m = _RANGE.match(part)
        if m:
            lo, hi, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
            if step < 1 or hi < lo or lo < 1:
                raise UsageError(
                    "bad-option",
                    f"--sizes: `{part}` is an empty range (LO..HI/STEP needs 1 ≤ LO ≤ HI and STEP ≥ 1)",
                    hint="e.g. --sizes 96..512/32 (both ends included)",
                )
            out.extend((v,) * ndim for v in range(lo, hi + 1, step))
        else:
            dims = re.split(r"[x×]", part)
            if not all(d.strip().isdigit() and int(d) >= 1 for d in dims):
                raise UsageError(
                    "bad-option",
                    f"--sizes: `{part}` is not a size (positive integers: 224, 1024x768, or a range 96..512/32)",
                )
            vals = tuple(int(d) for d in dims)
            if len(vals) == 1:
                vals = vals * ndim
            if len(vals) != ndim:
                raise UsageError(
                    "bad-option",
                    f"--sizes: `{part}` has {len(vals)} dims; the model's input has {ndim} spatial dim(s)",
                )
            out.append(vals)
        if len(out) > MAX_SIZES:
            raise UsageError("bad-option", f"--sizes: more than {MAX_SIZES} sizes at a time")
    if not out:
        raise UsageError("bad-option", f"--sizes: no sizes in `{text}`", hint="e.g. --sizes 128,224,320")
    return list(dict.fromkeys(out))


def label(size: Sequence[int]) -> str:
    return "x".join(str(s) for s in size)


def _first_failure(graph: Graph, batch: int) -> tuple[dict[str, Shape] | None, str | None, str | None]:
    """Shapes, or (None, failing layer, reason)."""
    shapes: dict[str, Shape] = {INPUT: (batch, *graph.input_shape)}
    for node in graph.nodes:
        ins = [shapes[i] for i in node.inputs]
        try:
            node.layer.check_inputs(ins)
            shapes[node.name] = tuple(node.layer.out_shape(ins))
        except CnnscopeError as exc:
            return None, node.name, f"{node.name} ({node.type}): {exc.message}"
    return shapes, None, None


def _rf_coverage(graph: Graph, shapes: dict[str, Shape]) -> tuple[str | None, list[float] | None]:
    last = None
    for node in graph.nodes:
        if node.layer.rf([shapes[i] for i in node.inputs]).windowed:
            last = node.name
    if last is None:
        return None, None
    field = receptive_fields(graph, shapes)[last]
    return last, field.coverage(graph.input_shape[1:])


@dataclasses.dataclass
class Pieces:
    """The traces made so far; a size is evaluated by the first whose guards hold there."""

    graph: Graph
    batch: int
    options: dict[str, Any]
    traces: list[F.Trace] = dataclasses.field(default_factory=list)
    unavailable: str | None = None  # why no formula could be traced

    def at(self, size: Sequence[int]) -> tuple[int, dict[str, int]] | None:
        for k, t in enumerate(self.traces):
            got = t.evaluate(size)
            if got is not None:
                return k, got
        if self.unavailable or len(self.traces) >= MAX_PIECES:
            return None
        try:
            t = F.trace(self.graph, size, self.batch, **self.options)
        except NotSymbolic as exc:
            self.unavailable = f"a layer needs concrete sizes ({exc})"
            return None
        except CnnscopeError:
            return None
        self.traces.append(t)
        got = t.evaluate(size)
        return (len(self.traces) - 1, got) if got is not None else None


FIGURE_KEYS = ("params", "macs", "flops", "other_ops_total", "activation_bytes", "training_bytes")


def sweep(
    graph: Graph, sizes: Sequence[Sequence[int]], batch: int = 1, dtype: str = "float32", optimizer: str = "adam"
) -> Report:
    """One row per size (valid or not), the formulas in ``report.meta['formulas']``."""
    options = {"dtype": dtype, "optimizer": optimizer}
    ref = tuple(graph.input_shape[1:])
    pieces = Pieces(graph, batch, options)
    pieces.at(ref)  # the spec's own size first, when it is valid: its trace is piece 0
    rows: list[dict[str, Any]] = []
    for size in sizes:
        g = dataclasses.replace(graph, input_shape=(graph.input_shape[0], *size))
        row: dict[str, Any] = {"name": label(size), "size": list(size)}
        shapes, layer, why = _first_failure(g, batch)
        if shapes is None:
            row.update(status="invalid", failed_layer=layer, problem=why)
            rows.append(row)
            continue
        r = analyze(g, ["params", "compute", "memory"], batch=batch, **options)
        t = r.totals
        fits = window_fits(g, shapes)
        last, cover = _rf_coverage(g, shapes)
        row.update(
            status="ok",
            output_shape=list(shapes[g.output]),
            params=t["params"],
            macs=t["macs"],
            flops=t["flops"],
            other_ops=t["other_ops"],
            other_ops_total=t["other_ops_total"],
            activation_bytes=t["activation_bytes"],
            training_bytes=t["training_bytes"],
            pixels_dropped=sum(w.lost for w in fits),
            misfit_windows=sum(1 for w in fits if not w.fits),
            rf_layer=last,
            rf_coverage=cover,
            rf_coverage_min=min(cover) if cover else None,
        )
        got = pieces.at(size)
        if got is not None:
            k, vals = got
            want = {key: row[key] for key in FIGURE_KEYS}
            want.update({f"other_ops.{c}": v for c, v in t["other_ops"].items()})
            row["piece"] = k
            row["formula_matches"] = all(vals.get(key, 0) == v for key, v in want.items())
        else:
            row["formula_matches"] = None
        rows.append(row)
    report = Report(graph.name, graph.source, (batch, *graph.input_shape), batch, rows)
    report.add_columns(
        Column("name", "size", "text", total=False),
        Column("status", "status", "text", total=False),
        Column("output_shape", "output", "shape", total=False),
        Column("params", "params", "count", total=False),
        Column("macs", "MACs", "macs", total=False),
        Column("flops", "FLOPs", "flops", total=False),
        Column("other_ops_total", "other ops", "ops", total=False),
        Column("activation_bytes", "activations", "bytes", total=False),
        Column("training_bytes", f"training ({optimizer}, {dtype})", "bytes", total=False),
        Column("pixels_dropped", "px dropped", "count", total=False),
        Column("rf_coverage_min", "RF cover", "percent", total=False),
        Column("problem", "problem", "text", total=False),
    )
    report.meta.update(dtype=dtype, optimizer=optimizer, sizes=[list(s) for s in sizes])
    report.meta["formulas"] = describe(pieces, sizes)
    for row in rows:
        if row.get("formula_matches") is False:
            report.warn(f"size {row['name']}: the traced formula disagrees with the analyzer (a bug; please report)")
    report.notes.append(
        "RF cover: the receptive field of the last windowed layer as a fraction of the input (smallest dim); "
        "px dropped: input pixels no window covers, summed over the windowed layers (cnnscope fit)"
    )
    return report


def describe(pieces: Pieces, sizes: Sequence[Sequence[int]]) -> dict[str, Any]:
    """The formulas as data: exact floor form, legend, per-class polynomial, breakpoints."""
    if not pieces.traces:
        return {"available": False, "why": pieces.unavailable or "no size in the sweep is valid"}
    t = pieces.traces[0]
    sp = t.space
    used_all: set[int] = set()
    for terms in t.figures.values():
        used_all |= F.used_atoms(sp, terms)
    for d in t.output_dims:
        used_all |= F.used_atoms(sp, d)
    names = F.atom_names(sp, used_all)
    ref = list(sp.point)
    lin = F.linear_atoms(sp, ref)
    out: dict[str, Any] = {"available": True, "variables": list(sp.names), "traced_at": ref, "figures": {}}
    for key, terms in t.figures.items():
        used = F.used_atoms(sp, terms)
        fig: dict[str, Any] = {"exact": F.show_terms(sp, terms, names)}
        if lin is not None:
            period = tuple(
                lcm(*(lin[a].periods[v] for a in used | set(range(len(sp.names))))) for v in range(len(sp.names))
            )
            fig["period"] = list(period)
            fig["residue"] = [r % p for r, p in zip(ref, period, strict=True)]
            fig["polynomial"] = F.show_poly(F.expand(sp, terms, lin), sp.names)
        out["figures"][key] = fig
    out["output_dims"] = [F.show_terms(sp, d, names) for d in t.output_dims]
    out["where"] = F.legend(sp, used_all)
    lo = min(min(s) for s in sizes)
    hi = max(max(s) for s in sizes)
    bps = {}
    for k, a in enumerate(sp.atoms):
        if not a.is_var and k in used_all:
            bps[names[k]] = F.steps(sp, k, lo, hi, ref)
    out["breakpoints"] = bps
    out["breakpoint_range"] = [lo, hi]
    out["guards"] = len(sp.guards)
    out["pieces"] = len(pieces.traces)
    if pieces.unavailable:
        out["partial"] = pieces.unavailable
    return out
