"""``F.linear`` on the last dim of any input, also with a bias computed in the forward."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule


@rule("linear", sig=("input", "weight", "bias"))
def linear(call: Call) -> Mapped | None:
    x, w, bias = call.args.get("input"), call.args.get("weight"), call.args.get("bias")
    if w is None or call.is_data(w) or not call.is_data(x) or not any(w is p for p in call.params.values()):
        return None
    trainable = bool(w.requires_grad)
    if bias is not None and call.is_data(bias):
        # a bias computed in the forward (BEiT's and Swin-v2's q/v bias with a zero k part): the
        # product, then the bias added; its parameters are counted where it is computed
        if len(call.data) != 2:
            return None
        layer = make("linear", out_features=int(w.shape[0]), bias=False, trainable=trainable)
        k_x = next(k for k, t in enumerate(call.data) if t is x)
        return Mapped([layer, make("add", broadcast=True)], params=[w], inputs=[k_x], joins={1: [1 - k_x]})
    if len(call.data) != 1:
        return None
    layer = make("linear", out_features=int(w.shape[0]), bias=bias is not None, trainable=trainable)
    return Mapped([layer], params=[t for t in (w, bias) if t is not None])
