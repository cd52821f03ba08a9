"""``nn.MultiheadAttention``: kept whole as one ``multiheadattention`` node (its fast path at
inference is a single fused op that a dispatcher count would see as 0)."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, module_rule, try_make


@module_rule("MultiheadAttention", sig=("query", "key", "value"))
def multihead_attention(call: Call) -> Mapped | None:
    m = call.args["module"]
    b = call.args
    if any(b.get(k) is not None for k in ("key_padding_mask", "attn_mask")):
        return None
    if b.get("need_weights", True) and len(call.outs) > 1:
        pass  # the averaged weights are a second output; the node gives the first
    raw = {
        "embed_dim": int(m.embed_dim),
        "num_heads": int(m.num_heads),
        "bias": m.in_proj_bias is not None,
        "add_bias_kv": m.bias_k is not None,
        "add_zero_attn": bool(m.add_zero_attn),
        "batch_first": bool(m.batch_first),
    }
    if int(m.kdim) != int(m.embed_dim):
        raw["kdim"] = int(m.kdim)
    if int(m.vdim) != int(m.embed_dim):
        raw["vdim"] = int(m.vdim)
    layer = try_make("multiheadattention", **raw)
    if layer is None:
        return None
    q, k, v = (b.get(n) for n in ("query", "key", "value"))
    if q is not None and q is k and k is v:
        return Mapped([layer], inputs=[0])  # self-attention: one input
    return Mapped([layer])
