"""`reconcile`: which counting conventions (and tools) reproduce a quoted figure."""

from __future__ import annotations

import sys
from typing import Annotated, Any

from cnnscope.cli.app import Option, app
from cnnscope.cli.common import FormatOpt, InputOpt, KwargsOpt, SourceArg, check_format, load_graph, positive_batch
from cnnscope.errors import UsageError

SHOWN = 10


def _opt(name: str, what: str) -> Any:
    return Option(name, help=f"the quoted {what}, as printed: 4.1G, 1.82e9, 1,814,073,344", show_default=False)


@app.command(rich_help_panel="Analyze")
def reconcile(
    source: SourceArg,
    flops: Annotated[str | None, _opt("--flops", "FLOPs (1 or 2 per MAC)")] = None,
    macs: Annotated[str | None, _opt("--macs", "MACs (1 per MAC)")] = None,
    params: Annotated[str | None, _opt("--params", "parameter count")] = None,
    batch: Annotated[
        int,
        Option("--batch", "-b", help="also try this batch size (always tries 1)", callback=positive_batch),
    ] = 1,
    top: Annotated[int, Option("--top", help="matches to list")] = SHOWN,
    input: InputOpt = None,
    kwargs: KwargsOpt = None,
    format: FormatOpt = "table",
) -> None:
    """Which counting conventions reproduce a quoted FLOPs / MACs / params figure, and whose they are."""
    check_format(format)
    given = [(k, v) for k, v in (("flops", flops), ("macs", macs), ("params", params)) if v is not None]
    if len(given) != 1:
        raise UsageError("bad-option", "give exactly one of --flops, --macs, --params", hint="e.g. --flops 4.1G")
    if top < 1:
        raise UsageError("bad-option", f"--top must be a positive integer, got {top}")
    kind, text = given[0]
    graph = load_graph(source, input, kwargs)
    from cnnscope.render.units import fmt
    from cnnscope.whatif.reconcile import reconcile as run

    res = run(graph, kind, text, batch)
    if format == "json":
        from cnnscope.render.formats.json import dumps

        sys.stdout.write(dumps(res))
        return
    rows = (res["matches"] or res["nearest"])[:top]
    if format == "csv":
        sys.stdout.write("value,distance,size,batch,tools,convention\n")
        for r in rows:
            size = "x".join(map(str, r["size"]))
            tools = "; ".join(r["tools"])
            sys.stdout.write(f'{r["value"]},{r["distance"]:.6g},{size},{r["batch"]},"{tools}","{r["convention"]}"\n')
        return
    md = format == "markdown"
    out: list[str] = []
    tol = res["tolerance"]
    head = f"{graph.name}: --{kind} {text} = {res['target']:,} ± {tol:,.6g}"
    if res["matches"]:
        out.append(f"{head}: {len(res['matches'])} way(s) to count it reproduce the figure; the simplest first")
    else:
        out.append(f"{head}: no combination reproduces it; the nearest:")
    for i, r in enumerate(rows, 1):
        size = "×".join(map(str, r["size"]))
        who = ", ".join(r["tools"]) if r["tools"] else "no tool we know"
        dist = f"{100 * r['distance']:.3g}% off" if r["distance"] else "exact"
        line = f"{i}. {r['value']:,} at {size}, batch {r['batch']} ({dist}) — {who}: {r['convention']}"
        out.append(("- " + line[line.index(" ") + 1 :]) if md else line)
    if rows:
        best = rows[0]
        parts = " + ".join(f"{k} {fmt(v, 'count')}" for k, v in best["breakdown"].items())
        out.append(f"{'**' if md else ''}breakdown of #1{'**' if md else ''}: {parts} = {best['value']:,}")
    out.append(
        f"tried: input sizes {', '.join('×'.join(map(str, s)) for s in res['sizes_tried'])}; batch "
        f"{', '.join(map(str, res['batches_tried']))}; conventions of docs/conventions.md"
    )
    sys.stdout.write("\n".join(out) + "\n")
