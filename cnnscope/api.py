"""The Python API for a model you hold: ``cnnscope.summary(model, input_size=(1, 3, 224, 224))``.

Every function takes an ``nn.Module`` object **or** a source string (a spec file, a built-in
name, ``pkg.mod:Net``) and returns a :class:`ModelReport`: the CLI's table when printed in a
terminal, an HTML table in Jupyter, and ``to_dict()`` / ``to_json()`` / ``to_pandas()``.

``input_size`` may include the batch, as torchinfo's does, or not, as cnnscope's ``--input``
does. Disambiguation, in this order:

1. ``input_shape=`` never includes the batch and ``batch=`` is the batch size: no guessing.
2. Otherwise the rank the model expects decides: a spec's ``input:`` rank, or for a module
   the first convolution / linear / norm layer it contains (``Conv2d`` takes ``C, H, W``):
   one dim more than that rank means the first is the batch.
3. Otherwise 4 or 5 dims are ``N, C, H, W`` / ``N, C, D, H, W`` (torchinfo's habit), and 1 to 3
   dims carry no batch.

The model is left untouched: no parameter, buffer, training flag, hook or device changes
(capture works on fake tensors and puts the module back as it found it).

The report is :mod:`cnnscope.api_report`, the model and input made a graph
:mod:`cnnscope.api_input`; every name is importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cnnscope.analyze.base import analyze
from cnnscope.api_input import split_input, to_graph
from cnnscope.api_report import ModelReport, drawing_html
from cnnscope.errors import UsageError


def _report(
    model: Any,
    analyzers: list[str] | None,
    input_size: Sequence[int] | None,
    input_shape: Sequence[int] | None,
    batch: int | None,
    name: str | None,
    title: str | None = None,
    drawing: bool = False,
    **options: Any,
) -> ModelReport:
    graph, b = to_graph(model, input_size, input_shape, batch, name)
    base = analyze(graph, analyzers, batch=b, **options)
    r = ModelReport(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    r.analyzers = base.analyzers
    r.graph = graph
    r.title = title
    r.include_drawing = drawing
    return r


def summary(
    model: Any,
    input_size: Sequence[int] | None = None,
    *,
    input_shape: Sequence[int] | None = None,
    batch: int | None = None,
    dtype: str = "float32",
    optimizer: str = "adam",
    name: str | None = None,
    drawing: bool = False,
) -> ModelReport:
    """Every analytic column (shapes, params, MACs, memory, receptive field), as ``cnnscope summary``.

    ``summary(model, (1, 3, 224, 224))`` for a module you hold (torchinfo's call),
    ``summary("resnet18")`` for a spec. ``drawing=True`` adds the layer graph to the notebook view.
    """
    from cnnscope.cli.common import normalize_dtype

    return _report(
        model,
        None,
        input_size,
        input_shape,
        batch,
        name,
        drawing=drawing,
        dtype=normalize_dtype(dtype),
        optimizer=optimizer,
    )


def shapes(model: Any, input_size: Sequence[int] | None = None, **kw: Any) -> ModelReport:
    """Output shape of every layer (batch included), as ``cnnscope shapes``."""
    return _report(
        model, ["shapes"], input_size, kw.pop("input_shape", None), kw.pop("batch", None), kw.pop("name", None), **kw
    )


def params(model: Any, input_size: Sequence[int] | None = None, **kw: Any) -> ModelReport:
    """Parameters per layer, trainable and frozen; buffers apart, as ``cnnscope params``."""
    return _report(
        model, ["params"], input_size, kw.pop("input_shape", None), kw.pop("batch", None), kw.pop("name", None), **kw
    )


def flops(model: Any, input_size: Sequence[int] | None = None, **kw: Any) -> ModelReport:
    """MACs, FLOPs (2 x MACs) and other ops per layer, as ``cnnscope flops``."""
    return _report(
        model,
        ["compute"],
        input_size,
        kw.pop("input_shape", None),
        kw.pop("batch", None),
        kw.pop("name", None),
        detail=True,
        **kw,
    )


def memory(
    model: Any, input_size: Sequence[int] | None = None, *, dtype: str = "float32", optimizer: str = "adam", **kw: Any
) -> ModelReport:
    """Activation, weight and training-step bytes, as ``cnnscope memory`` (dtype aliases: bf16, half, ...)."""
    from cnnscope.analyze.memory import OPTIMIZER_STATES
    from cnnscope.cli.common import check_choice, normalize_dtype

    check_choice("optimizer", optimizer, tuple(OPTIMIZER_STATES))
    return _report(
        model,
        ["memory"],
        input_size,
        kw.pop("input_shape", None),
        kw.pop("batch", None),
        kw.pop("name", None),
        detail=True,
        dtype=normalize_dtype(dtype),
        optimizer=optimizer,
        **kw,
    )


def rf(model: Any, input_size: Sequence[int] | None = None, **kw: Any) -> ModelReport:
    """Receptive field of every layer (size, effective stride and padding per dim), as ``cnnscope rf``."""
    return _report(
        model, ["rf"], input_size, kw.pop("input_shape", None), kw.pop("batch", None), kw.pop("name", None), **kw
    )


def check_budget(
    model: Any,
    budget: Mapping[str, Any] | None = None,
    *,
    input_size: Sequence[int] | None = None,
    input: Sequence[int] | None = None,
    batch: int | None = None,
    use_spec_budget: bool = True,
    measure: Any = None,
    **limits: Any,
) -> Any:
    """Evaluate a module or a source against ``limits`` (``max_params="12M"``) without raising on
    an exceeded budget; the returned check has ``.ok`` and one result per budget.

    ``input`` (no batch) is :func:`cnnscope.testing.check_budget`'s spelling; ``input_size`` may
    include the batch, as in :func:`summary`."""
    if isinstance(model, str) and input_size is None:
        from cnnscope.testing import check_budget as by_source

        return by_source(
            model, budget, input=input, batch=batch or 1, use_spec_budget=use_spec_budget, measure=measure, **limits
        )
    from cnnscope.gate import (
        MeasureOptions,
        add_measurement,
        evaluate,
        make_budget,
        merge,
        needs_measurement,
        spec_budgets,
    )

    budgets = {}
    for k, v in {**dict(budget or {}), **limits}.items():
        one = make_budget(k, v, "check_budget")
        budgets[one.name] = one
    graph, b = to_graph(model, input_size, input, batch, None)
    applied = merge(spec_budgets(graph) if use_spec_budget else {}, budgets)
    if not applied:
        raise UsageError("no-budget", "check_budget needs at least one limit, e.g. max_params='12M'")
    report = analyze(graph, None, batch=b)
    if needs_measurement(x.figure for x in applied.values()):
        add_measurement(report, graph, b, measure or MeasureOptions())
    return evaluate(graph, report, applied, 3)


def compare(
    old: Any,
    new: Any,
    input_size: Sequence[int] | None = None,
    *,
    input_shape: Sequence[int] | None = None,
    batch: int | None = None,
) -> Any:
    """What changed from ``old`` to ``new`` (modules, graphs or sources), as ``cnnscope diff``:
    a :class:`cnnscope.diff.ArchDiff` with each layer's status, changes and deltas, and every
    total old and new. ``cnnscope.render.views.diff.document(d)`` writes it in any format."""
    from cnnscope.diff import diff_graphs

    g_old, b = to_graph(old, input_size, input_shape, batch, None)
    g_new, _ = to_graph(new, input_size, input_shape, b, None)
    return diff_graphs(g_old, g_new, b)


__all__ = [
    "ModelReport",
    "check_budget",
    "compare",
    "drawing_html",
    "flops",
    "memory",
    "params",
    "rf",
    "shapes",
    "split_input",
    "summary",
]
