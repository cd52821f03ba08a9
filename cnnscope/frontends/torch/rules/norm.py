"""Functional normalizations: batch, instance, layer and group norm."""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule


def _affine(call: Call) -> list[object]:
    return [t for t in (call.args.get("weight"), call.args.get("bias")) if t is not None and call.is_tensor(t)]


def _norm(call: Call, type_name: str, **raw: Any) -> Mapped:
    """The norm layer with these fields and the call's ``eps`` (when it gives one), its affine
    weight and bias counted on it."""
    if call.args.get("eps") is not None:
        raw["eps"] = call.args["eps"]
    return Mapped([make(type_name, **raw)], params=_affine(call))


def _stats_norm(call: Call, family: str) -> Mapped:
    """Batch or instance norm: N-d from the input's rank, running statistics when given."""
    b = call.args
    nd = max(call.rank - 2, 1)
    return _norm(
        call,
        f"{family}{nd}d",
        affine=b.get("weight") is not None,
        track_running_stats=b.get("running_mean") is not None,
    )


@rule("batch_norm", sig=("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"))
def batch_norm(call: Call) -> Mapped | None:
    return _stats_norm(call, "batchnorm")


@rule(
    "instance_norm",
    sig=("input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum", "eps"),
)
def instance_norm(call: Call) -> Mapped | None:
    return _stats_norm(call, "instancenorm")


@rule("layer_norm", sig=("input", "normalized_shape", "weight", "bias", "eps"))
def layer_norm(call: Call) -> Mapped | None:
    b = call.args
    return _norm(
        call,
        "layernorm",
        normalized_shape=list(b["normalized_shape"]),
        elementwise_affine=b.get("weight") is not None,
        bias=b.get("bias") is not None,
    )


@rule("group_norm", sig=("input", "num_groups", "weight", "bias", "eps"))
def group_norm(call: Call) -> Mapped | None:
    b = call.args
    return _norm(call, "groupnorm", num_groups=b["num_groups"], affine=b.get("weight") is not None)


@rule("normalize", sig=("input", "p", "dim", "eps"))
def normalize(call: Call) -> Mapped | None:
    b = call.args
    if len(call.data) != 1 or b.get("out") is not None:
        return None
    raw = {k: float(b[k]) if k != "dim" else int(b[k]) for k in ("p", "dim", "eps") if b.get(k) is not None}
    return Mapped([make("normalize", **raw)])


@rule("rms_norm", sig=("input", "normalized_shape", "weight", "eps"))
def rms_norm(call: Call) -> Mapped | None:
    """``F.rms_norm`` (and timm's ``rms_norm`` helper, of the same signature). A weight computed
    in the forward (``self.weight.float()``) is a separate multiply after an unscaled norm."""
    b = call.args
    x, w = b.get("input"), b.get("weight")
    if not call.is_data(x):
        return None
    ns = b["normalized_shape"]
    raw = {"normalized_shape": [int(d) for d in (ns if isinstance(ns, (list, tuple)) else [ns])], "eps": b.get("eps")}
    if w is not None and not call.is_data(w) and not any(w is p for p in call.params.values()):
        return None  # a constant weight: mapped again once it is a node (then multiplied)
    if w is not None and call.is_data(w):
        if len(call.data) != 2:
            return None
        k_x = next(k for k, t in enumerate(call.data) if t is x)
        norm = make("rmsnorm", elementwise_affine=False, **raw)
        return Mapped([norm, make("mul")], inputs=[k_x], joins={1: [1 - k_x]})
    if len(call.data) != 1:
        return None
    raw["elementwise_affine"] = w is not None
    trainable = {"trainable": bool(w.requires_grad)} if w is not None else {}
    return Mapped([make("rmsnorm", **raw, **trainable)], params=_affine(call))
