"""``F.conv{1,2,3}d`` and ``F.conv_transpose{1,2,3}d``: the weight's shape gives the layer."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule

_CONV = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONVT = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")


def _conv(call: Call, transpose: bool) -> Mapped | None:
    b = call.args
    w = b.get("weight")
    if w is None or call.is_data(w) or not any(w is p for p in call.params.values()):
        # a weight computed in the forward (dynamic filters) or held as a buffer (a fixed
        # blur filter): no conv layer counts it right, so the node is opaque, measured
        return None
    groups = int(b.get("groups", 1))
    nd = len(w.shape) - 2
    raw = {
        "out_channels": int(w.shape[1]) * groups if transpose else int(w.shape[0]),
        "kernel_size": [int(k) for k in w.shape[2:]],
        "bias": b.get("bias") is not None,
        "groups": groups,
        "trainable": bool(w.requires_grad),
    }
    for k in ("stride", "padding", "dilation", "output_padding"):
        if b.get(k) is not None:
            raw[k] = b[k]
    if isinstance(raw.get("padding"), str):
        return None
    name = f"convtranspose{nd}d" if transpose else f"conv{nd}d"
    params = [t for t in (w, b.get("bias")) if t is not None and not call.is_data(t)]
    return Mapped([make(name, **raw)], params=params)


@rule("conv1d", "conv2d", "conv3d", sig=_CONV)
def conv(call: Call) -> Mapped | None:
    return _conv(call, transpose=False)


@rule("conv_transpose1d", "conv_transpose2d", "conv_transpose3d", sig=_CONVT)
def conv_transpose(call: Call) -> Mapped | None:
    return _conv(call, transpose=True)
