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
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from cnnscope.analyze.base import Report, analyze
from cnnscope.errors import UsageError
from cnnscope.graph import Graph


class ModelReport(Report):
    """A :class:`~cnnscope.analyze.base.Report` that shows itself: ``print(r)`` is the CLI's
    table at the terminal's width, a notebook cell shows HTML, ``to_dict`` / ``to_json`` /
    ``to_pandas`` hand the figures on."""

    graph: Graph | None = None
    title: str | None = None
    include_drawing: bool = False

    # --- data ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--format json`` document as a dict (``schema_version``, layers, totals, ...)."""
        from cnnscope.render.formats.json import report_data

        return report_data(self)

    def to_json(self, indent: int | None = 2) -> str:  # type: ignore[override]
        """The same document as a JSON string (``Report.to_json`` gives the dict)."""
        if indent == 2:
            from cnnscope.render import to_json

            return to_json(self)
        return json.dumps(self.to_dict(), indent=indent)

    def to_pandas(self) -> Any:
        """One DataFrame row per layer, one column per table column (raw numbers, not text);
        needs pandas."""
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise UsageError(
                "missing-extra", "to_pandas() needs pandas, which is not installed", hint="pip install pandas"
            ) from None
        from cnnscope.render.units import get_path

        data = [{c.key: get_path(row, c.key) for c in self.columns} for row in self.rows]
        return pd.DataFrame(data, columns=[c.key for c in self.columns]).set_index("name")

    # --- display ------------------------------------------------------------------------

    def to_text(self, width: int | None = None) -> str:
        """The table as text for ``width`` columns (default: this terminal's; None in a pipe: all)."""
        from cnnscope.render.table import to_text

        return to_text(self, width if width is not None else _terminal_width(), self.title)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from cnnscope.render.table import renderables

        yield from renderables(self, options.max_width, self.title)

    def _repr_html_(self) -> str:
        from cnnscope.render.html import to_html

        html = to_html(self, self.title)
        if self.include_drawing:
            html += drawing_html(self)
        return html

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.to_text(120), "text/html": self._repr_html_()}


def drawing_html(report: Report) -> str:
    """The layer graph drawn (cnnscope.draw), folded under a ``<details>``; empty when the
    drawing module is not there."""
    try:
        from cnnscope.draw import to_html as draw_html
    except ImportError:  # the hook: cnnscope.draw.to_html(report_or_graph, embed=True)
        return ""
    try:
        frame = draw_html(report, embed=True)
    except Exception as exc:  # a drawing must never hide the table
        return f"<p>(drawing unavailable: {type(exc).__name__})</p>"
    return f"<details><summary>drawing</summary>{frame}</details>"


def _terminal_width() -> int | None:
    import shutil

    if not sys.stdout.isatty():
        return None  # a pipe, a file, a notebook's print(): every column, as the CLI does
    return shutil.get_terminal_size().columns


def _is_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _expected_rank(model: Any) -> int | None:
    """The rank (no batch) of the input of the first layer that says: Conv2d -> 3, Linear -> 1."""
    import torch.nn as nn

    kinds: list[tuple[type, int]] = [
        (nn.Conv1d, 2),
        (nn.Conv2d, 3),
        (nn.Conv3d, 4),
        (nn.ConvTranspose1d, 2),
        (nn.ConvTranspose2d, 3),
        (nn.ConvTranspose3d, 4),
        (nn.BatchNorm2d, 3),
        (nn.BatchNorm3d, 4),
        (nn.Linear, 1),
    ]
    for m in model.modules():
        for cls, rank in kinds:
            if isinstance(m, cls):
                return rank
    return None


def split_input(
    input_size: Sequence[int] | None,
    expected_rank: int | None,
    batch: int | None,
) -> tuple[tuple[int, ...] | None, int]:
    """(input shape without batch, batch) from a torchinfo-style ``input_size``."""
    if input_size is None:
        return None, batch or 1
    dims = tuple(int(d) for d in input_size)
    if not dims or any(d < 1 for d in dims):
        raise UsageError("bad-input-shape", f"input_size must be positive integers, got {tuple(input_size)}")
    # one dim more than the model takes is the batch; without a model's word, N,C,H,W (torchinfo's habit)
    has_batch = len(dims) == expected_rank + 1 if expected_rank is not None else len(dims) >= 4
    if not has_batch:
        return dims, batch or 1
    if batch is not None and batch != dims[0]:
        raise UsageError(
            "bad-input-shape",
            f"input_size {dims} starts with batch {dims[0]}, but batch={batch} was given",
            hint="pass input_shape= (no batch) with batch=, or input_size= with the batch first",
        )
    return dims[1:], dims[0]


def _graph(
    model: Any,
    input_size: Sequence[int] | None,
    input_shape: Sequence[int] | None,
    batch: int | None,
    name: str | None,
) -> tuple[Graph, int]:
    if input_size is not None and input_shape is not None:
        raise UsageError("bad-option", "give input_size (batch optional) or input_shape (no batch), not both")
    if _is_module(model):
        from cnnscope.frontends.torch.capture import capture

        shape: tuple[int, ...] | None
        if input_shape is not None:
            shape, b = tuple(int(d) for d in input_shape), batch or 1
        elif input_size is not None:
            shape, b = split_input(input_size, _expected_rank(model), batch)
        else:
            raise UsageError(
                "missing-input",
                "a module needs an input size: summary(model, input_size=(1, 3, 224, 224))",
                hint="or input_shape=(3, 224, 224) without the batch",
            )
        assert shape is not None
        return capture(model, shape, name=name or type(model).__name__, source="<module>", batch=b), b
    if isinstance(model, Graph):
        return model, batch or 1
    if not isinstance(model, str):
        raise UsageError(
            "bad-source",
            f"expected an nn.Module, a Graph or a source string, got {type(model).__name__}",
            hint='e.g. cnnscope.summary("resnet18") or cnnscope.summary(model, input_size=(1, 3, 224, 224))',
        )
    from cnnscope.frontends.sources import is_module_source, load

    if input_shape is not None:
        return load(model, tuple(int(d) for d in input_shape)), batch or 1
    if input_size is None:
        return load(model), batch or 1
    rank = None if is_module_source(model) else len(load(model).input_shape)
    given, b = split_input(input_size, rank, batch)
    return load(model, given), b


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
    graph, b = _graph(model, input_size, input_shape, batch, name)
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
    graph, b = _graph(model, input_size, input, batch, None)
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

    g_old, b = _graph(old, input_size, input_shape, batch, None)
    g_new, _ = _graph(new, input_size, input_shape, b, None)
    return diff_graphs(g_old, g_new, b)


__all__ = [
    "ModelReport",
    "check_budget",
    "compare",
    "flops",
    "memory",
    "params",
    "rf",
    "shapes",
    "split_input",
    "summary",
]
