"""Products of data tensors: ``matmul`` / ``@``, ``bmm``, ``mm``, ``einsum``, and attention
(``F.scaled_dot_product_attention``). ``baddbmm`` has no rule: it is opaque, its MACs measured."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, rule, try_map


@rule("matmul", "bmm", "mm", sig=("input", "other"))
def matmul(call: Call) -> Mapped | None:
    if len(call.data) != 2:
        return None  # a parameter matrix: it enters as a parameter node, and this maps again
    return try_map("matmul")


@rule("einsum", sig=("equation", "*operands"))
def einsum(call: Call) -> Mapped | None:
    ops = call.args.get("operands", ())
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = tuple(ops[0])
    if len(call.data) != len(ops) or not isinstance(call.args.get("equation"), str):
        return None
    return try_map("einsum", equation=call.args["equation"])


@rule("scaled_dot_product_attention", sig=("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale"))
def sdpa(call: Call) -> Mapped | None:
    b = call.args
    n = 4 if b.get("attn_mask") is not None else 3
    if len(call.data) != n or b.get("enable_gqa"):
        return None
    raw: dict[str, object] = {"is_causal": bool(b.get("is_causal", False))}
    if b.get("scale") is not None:
        raw["scale"] = float(b["scale"])
    return try_map("scaleddotproductattention", **raw)
