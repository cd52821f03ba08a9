"""Functional normalizations: batch, instance, layer and group norm."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule


def _affine(call: Call) -> list[object]:
    return [t for t in (call.args.get("weight"), call.args.get("bias")) if t is not None and call.is_tensor(t)]


@rule("batch_norm", sig=("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"))
def batch_norm(call: Call) -> Mapped | None:
    b = call.args
    nd = max(call.rank - 2, 1)
    raw = {"affine": b.get("weight") is not None, "track_running_stats": b.get("running_mean") is not None}
    if b.get("eps") is not None:
        raw["eps"] = b["eps"]
    return Mapped([make(f"batchnorm{nd}d", **raw)], params=_affine(call))


@rule(
    "instance_norm",
    sig=("input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum", "eps"),
)
def instance_norm(call: Call) -> Mapped | None:
    b = call.args
    nd = max(call.rank - 2, 1)
    raw = {"affine": b.get("weight") is not None, "track_running_stats": b.get("running_mean") is not None}
    if b.get("eps") is not None:
        raw["eps"] = b["eps"]
    return Mapped([make(f"instancenorm{nd}d", **raw)], params=_affine(call))


@rule("layer_norm", sig=("input", "normalized_shape", "weight", "bias", "eps"))
def layer_norm(call: Call) -> Mapped | None:
    b = call.args
    raw = {
        "normalized_shape": list(b["normalized_shape"]),
        "elementwise_affine": b.get("weight") is not None,
        "bias": b.get("bias") is not None,
    }
    if b.get("eps") is not None:
        raw["eps"] = b["eps"]
    return Mapped([make("layernorm", **raw)], params=_affine(call))


@rule("group_norm", sig=("input", "num_groups", "weight", "bias", "eps"))
def group_norm(call: Call) -> Mapped | None:
    b = call.args
    raw = {"num_groups": b["num_groups"], "affine": b.get("weight") is not None}
    if b.get("eps") is not None:
        raw["eps"] = b["eps"]
    return Mapped([make("groupnorm", **raw)], params=_affine(call))


@rule("normalize", sig=("input", "p", "dim", "eps"))
def normalize(call: Call) -> Mapped | None:
    b = call.args
    if len(call.data) != 1 or b.get("out") is not None:
        return None
    raw = {k: float(b[k]) if k != "dim" else int(b[k]) for k in ("p", "dim", "eps") if b.get(k) is not None}
    return Mapped([make("normalize", **raw)])
