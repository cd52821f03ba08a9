"""``F.linear`` on the last dim of any input, also with a bias computed in the forward, or a weight
that is a constant or computed (an einsum of the two)."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule


@rule("linear", sig=("input", "weight", "bias"))
def linear(call: Call) -> Mapped | None:
    x, w, bias = call.args.get("input"), call.args.get("weight"), call.args.get("bias")
    if w is not None and call.is_data(w) and call.is_data(x):
        return _weight_input(call, x, w, bias)
    if w is None or call.is_data(w) or not call.is_data(x) or not any(w is p for p in call.params.values()):
        return None  # a constant weight (a fixed transform) maps again once it is a node
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


def _weight_input(call: Call, x: object, w: object, bias: object) -> Mapped | None:
    """A weight that is a node (a constant basis, as CSATv2's DCT, or one computed in the forward):
    the product as an einsum of the two inputs (``x @ w.T``, the MACs torch counts), then the
    bias, when there is one, added as a further input."""
    if bias is not None and not call.is_data(bias):
        return None  # a parameter or constant bias: mapped again once it is a node
    idx = [next(k for k, t in enumerate(call.data) if t is v) for v in (x, w)]
    if len(call.ins[idx[1]]) != 2:
        return None  # a 1-d weight runs as aten.mv, which FlopCounterMode leaves at 0: measured, opaque
    eq = "...i,oi->...o"
    if bias is None:
        return Mapped([make("einsum", equation=eq)], inputs=idx)
    k_b = next(k for k, t in enumerate(call.data) if t is bias)
    return Mapped([make("einsum", equation=eq), make("add", broadcast=True)], inputs=idx, joins={1: [k_b]})
