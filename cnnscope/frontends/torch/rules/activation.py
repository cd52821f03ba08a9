"""Activations and other one-input layers named as their torch function (``F.relu``,
``torch.sigmoid``, ``x.softmax(-1)``, ``F.dropout``...): the layer type of the same name, its
fields from the call's keyword arguments."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, rule, try_map
from cnnscope.layers.base import registry

_SIG = {
    "leaky_relu": ("input", "negative_slope"),
    "elu": ("input", "alpha"),
    "celu": ("input", "alpha"),
    "hardtanh": ("input", "min_val", "max_val"),
    "softplus": ("input", "beta", "threshold"),
    "softmax": ("input", "dim"),
    "log_softmax": ("input", "dim"),
    "softmin": ("input", "dim"),
    "glu": ("input", "dim"),
    "threshold": ("input", "threshold", "value"),
    "hardshrink": ("input", "lambd"),
    "softshrink": ("input", "lambd"),
    "rrelu": ("input", "lower", "upper"),
    "dropout": ("input", "p"),
    "dropout1d": ("input", "p"),
    "dropout2d": ("input", "p"),
    "dropout3d": ("input", "p"),
    "alpha_dropout": ("input", "p"),
    "pixel_shuffle": ("input", "upscale_factor"),
    "pixel_unshuffle": ("input", "downscale_factor"),
    "channel_shuffle": ("input", "groups"),
    "local_response_norm": ("input", "size", "alpha", "beta", "k"),
}
_PLAIN = (
    "relu",
    "relu6",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "selu",
    "softsign",
    "tanhshrink",
    "logsigmoid",
    "log_sigmoid",
)


def _by_name(call: Call) -> Mapped | None:
    tname = call.op.replace("_", "")
    cls = registry().get(tname)
    if cls is None or len(call.data) != 1:
        return None
    fields = {f.name for f in cls.fields()} - {"trainable"}
    raw = {k: v for k, v in call.args.items() if k in fields and v is not None and not call.is_tensor(v)}
    if call.op in ("softmax", "log_softmax", "softmin") and raw.get("dim") is None:
        return None
    return try_map(tname, **raw)


for _op, _sig in _SIG.items():
    rule(_op, sig=_sig)(_by_name)
rule(*_PLAIN)(_by_name)
