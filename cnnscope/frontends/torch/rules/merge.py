"""Joins: ``torch.cat`` (also with parameter tensors, such as a class token) and ``torch.stack``."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_map


@rule("cat", sig=("tensors", "dim"))
def cat(call: Call) -> Mapped | None:
    if len(call.data) != len(call.args.get("tensors", ())):
        return None  # a constant among the pieces: opaque, measured
    return Mapped([make("concat", dim=int(call.args.get("dim", 0)))])


@rule("stack", sig=("tensors", "dim"))
def stack(call: Call) -> Mapped | None:
    if len(call.data) != len(call.args.get("tensors", ())):
        return None
    return try_map("stack", dim=int(call.args.get("dim", 0)))
