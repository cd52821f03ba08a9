"""``F.conv{1,2,3}d`` and ``F.conv_transpose{1,2,3}d``: the weight's shape gives the layer.

A parameter weight (and a parameter bias, or none) is a ``conv*d`` that counts them. A weight
computed in the forward (weight standardization, dynamic filters) or held as a buffer (a fixed
blur filter), or a bias that is either, makes a ``dynamicconv*d``: the weight (and such a bias)
are inputs, counted where they are computed; a constant or a parameter used that way enters
the graph as a node of its own (the builder maps the call again with it as an input).
"""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule

_CONV = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONVT = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")


def _options(call: Call) -> dict[str, Any]:
    return {
        k: call.args[k] for k in ("stride", "padding", "dilation", "output_padding") if call.args.get(k) is not None
    }


def _conv(call: Call, transpose: bool) -> Mapped | None:
    b = call.args
    x, w, bias = b.get("input"), b.get("weight"), b.get("bias")
    if w is None or not call.is_tensor(w) or not call.is_data(x):
        return None
    groups = int(b.get("groups", 1))
    nd = len(w.shape) - 2
    param = {id(t) for t in call.params.values()}
    own_bias = bias is None or (id(bias) in param and not call.is_data(bias))
    if id(w) in param and not call.is_data(w) and own_bias:
        raw = {
            "out_channels": int(w.shape[1]) * groups if transpose else int(w.shape[0]),
            "kernel_size": [int(k) for k in w.shape[2:]],
            "bias": bias is not None,
            "groups": groups,
            "trainable": bool(w.requires_grad),
            **_options(call),
        }
        name = f"convtranspose{nd}d" if transpose else f"conv{nd}d"
        return Mapped([make(name, **raw)], params=[t for t in (w, bias) if t is not None])
    if not call.is_data(w) or not (own_bias or call.is_data(bias)):
        return None  # a constant or parameter weight (or bias) as an operand: mapped again once it is a node
    inputs = [next(k for k, t in enumerate(call.data) if t is v) for v in (x, w)]
    if bias is not None and call.is_data(bias):
        inputs.append(next(k for k, t in enumerate(call.data) if t is bias))
    learned = bias is not None and not call.is_data(bias)
    trainable = bool(bias.requires_grad) if learned and bias is not None else True
    raw = {"groups": groups, "bias": learned, "trainable": trainable}
    name = f"dynamicconv{'transpose' if transpose else ''}{nd}d"
    return Mapped([make(name, **raw, **_options(call))], params=[bias] if learned else [], inputs=inputs)


@rule("conv1d", "conv2d", "conv3d", sig=_CONV)
def conv(call: Call) -> Mapped | None:
    return _conv(call, transpose=False)


@rule("conv_transpose1d", "conv_transpose2d", "conv_transpose3d", sig=_CONVT)
def conv_transpose(call: Call) -> Mapped | None:
    return _conv(call, transpose=True)
