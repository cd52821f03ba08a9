"""`flops`: MACs, FLOPs and the other ops of every layer, with its share of the total."""

from __future__ import annotations

from cnnscope.cli.app import app
from cnnscope.cli.common import BatchOpt, FormatOpt, InputOpt, KwargsOpt, SourceArg, run_report


@app.command(rich_help_panel="Analyze")
def flops(
    source: SourceArg,
    input: InputOpt = None,
    batch: BatchOpt = 1,
    format: FormatOpt = "table",
    kwargs: KwargsOpt = None,
) -> None:
    """MACs (multiply-adds, bias excluded), FLOPs (= 2 x MACs) and other ops per layer, with shares.

    Bias adds, normalization, activations, pooling and merges are counted apart, by the
    per-element rules in docs/conventions.md, so MACs stay comparable with published figures.
    """
    run_report(source, ["compute"], input, batch, format, kwargs=kwargs, detail=True)
