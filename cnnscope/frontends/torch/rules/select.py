"""Selecting by value: ``topk``, ``sort``, ``argsort``, ``max`` / ``min`` (over everything, along
a dim with their indices, or elementwise between two tensors), ``argmax`` / ``argmin``.

torch's two outputs (values, indices) are two nodes, one layer each (``output: values`` /
``indices``), as a split is one node per piece: the indices are first-class nodes."""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_make
from cnnscope.frontends.torch.rules.arith import binary
from cnnscope.layers.base import Layer


def _pair(type_name: str, call: Call, **raw: Any) -> Mapped | None:
    """One layer per output: the values, then the indices."""
    layers = [try_make(type_name, output=o, **raw) for o in ("values", "indices")][: len(call.outs)]
    if any(layer is None for layer in layers) or not call.is_data(call.args.get("input")):
        return None
    return Mapped([layer for layer in layers if isinstance(layer, Layer)], inputs=[0], per_output=True)


@rule("topk", sig=("input", "k", "dim", "largest", "sorted"))
def topk(call: Call) -> Mapped | None:
    b = call.args
    return _pair("topk", call, k=int(b["k"]), dim=int(b.get("dim", -1)), largest=bool(b.get("largest", True)))


@rule("sort", sig=("input", "dim", "descending"))
def sort(call: Call) -> Mapped | None:
    b = call.args
    return _pair("sort", call, dim=int(b.get("dim", -1)), descending=bool(b.get("descending", False)))


@rule("argsort", sig=("input", "dim", "descending"))
def argsort(call: Call) -> Mapped | None:
    b = call.args
    if not call.is_data(b.get("input")):
        return None
    raw = {"dim": int(b.get("dim", -1)), "descending": bool(b.get("descending", False)), "output": "indices"}
    return Mapped([make("sort", **raw)], inputs=[0])


@rule("max", "min", sig=("input", "dim", "keepdim"))
def max_min(call: Call) -> Mapped | None:
    b = call.args
    dim = b.get("dim", b.get("other"))
    if call.is_tensor(dim):  # torch.max(a, b): elementwise
        return binary(Call(call.op, {"input": b.get("input"), "other": dim}, call.ins, call.data, call.outs),
                      "maximum" if call.op == "max" else "minimum")  # fmt: skip
    if not call.is_data(b.get("input")):
        return None
    if dim is None:  # over every element: a reduction to a 0-d value
        layer = try_make("reduce", op=f"a{call.op}", dims=list(range(call.rank)))
        return None if layer is None else Mapped([layer], inputs=[0])
    return _pair("minmax", call, op=call.op, dim=int(dim), keepdim=bool(b.get("keepdim", False)))


@rule("argmax", "argmin", sig=("input", "dim", "keepdim"))
def argmax(call: Call) -> Mapped | None:
    b = call.args
    if not call.is_data(b.get("input")):
        return None
    dim = b.get("dim")
    raw = {"op": call.op[3:], "dim": None if dim is None else int(dim), "keepdim": bool(b.get("keepdim", False))}
    layer = try_make("minmax", output="indices", **raw)
    return None if layer is None else Mapped([layer], inputs=[0])
