"""Sliding blocks and sampling: ``F.unfold`` (im2col) and ``Tensor.unfold`` (the windows of
one dim), which share the name ``unfold``; ``F.fold`` (col2im); ``F.grid_sample``.
(``nn.Unfold`` and ``nn.Fold`` need no rule: their attributes are the layer's fields.)
"""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, rule, try_make, try_map

_BLOCKS = ("kernel_size", "dilation", "padding", "stride")


def _blocks(call: Call, positional: tuple[Any, ...]) -> dict[str, Any]:
    raw = dict(zip(_BLOCKS, positional, strict=False))
    raw.update({k: call.args[k] for k in _BLOCKS if call.args.get(k) is not None})
    return raw


@rule("unfold", sig=("input", "arg1", "arg2", "arg3", "arg4"))
def unfold(call: Call) -> Mapped | None:
    b = call.args
    if len(call.data) != 1 or not call.is_data(b.get("input")):
        return None
    positional = tuple(b[k] for k in ("arg1", "arg2", "arg3", "arg4") if k in b)
    if len(call.out) == call.rank + 1:  # x.unfold(dimension, size, step): one more dim
        names = ("dimension", "size", "step")
        got = dict(zip(names, positional, strict=False)) | {k: b[k] for k in names if k in b}
        layer = try_make("unfolddim", dim=got.get("dimension"), size=got.get("size"), step=got.get("step"))
    else:  # F.unfold(x, kernel_size, dilation, padding, stride): im2col
        layer = try_make("unfold", **_blocks(call, positional))
    return None if layer is None else Mapped([layer])


@rule("fold", sig=("input", "output_size", "kernel_size", "dilation", "padding", "stride"))
def fold(call: Call) -> Mapped | None:
    if len(call.data) != 1:
        return None
    raw = {k: call.args[k] for k in ("output_size", *_BLOCKS) if call.args.get(k) is not None}
    return try_map("fold", **raw)


@rule("grid_sample", sig=("input", "grid", "mode", "padding_mode", "align_corners"))
def grid_sample(call: Call) -> Mapped | None:
    b = call.args
    x, grid = b.get("input"), b.get("grid")
    if not call.is_data(x) or not call.is_tensor(grid):
        return None
    if not call.is_data(grid):
        return None  # a constant grid (a fixed warp): mapped again once it is a node
    raw = {k: b[k] for k in ("mode", "padding_mode", "align_corners") if b.get(k) is not None}
    layer = try_make("gridsample", **raw)
    if layer is None:
        return None
    return Mapped([layer], inputs=[next(k for k, t in enumerate(call.data) if t is v) for v in (x, grid)])
