"""`flops`: MACs, FLOPs and the other ops of every layer, with its share of the total."""

from __future__ import annotations

from cnnscope.cli.common import report_command

flops = report_command(
    __name__,
    "flops",
    ["compute"],
    """MACs (multiply-adds, bias excluded), FLOPs (= 2 x MACs) and other ops per layer, with shares.

    Bias adds, normalization, activations, pooling and merges are counted apart, by the
    per-element rules in docs/conventions.md, so MACs stay comparable with published figures.
    """,
    detail=True,
)
