"""What the Python API is handed, made a graph: an ``nn.Module`` (captured on fake tensors), a
:class:`~cnnscope.graph.Graph`, or a source string, with a torchinfo-style ``input_size``
split into the input shape and the batch (the rules are :mod:`cnnscope.api`'s docstring)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from cnnscope.errors import UsageError
from cnnscope.graph import Graph


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


def to_graph(
    model: Any,
    input_size: Sequence[int] | None,
    input_shape: Sequence[int] | None,
    batch: int | None,
    name: str | None,
) -> tuple[Graph, int]:
    """(the graph, the batch) for ``model`` and the input it is given (exit 2 on a bad pairing)."""
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
