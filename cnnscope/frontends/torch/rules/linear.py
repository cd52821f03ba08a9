"""``F.linear`` (on the last dim of any input), ``torch.addmm``."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule


@rule("linear", sig=("input", "weight", "bias"))
def linear(call: Call) -> Mapped | None:
    w, bias = call.args.get("weight"), call.args.get("bias")
    if w is None or call.is_data(w) or len(call.data) != 1 or not any(w is p for p in call.params.values()):
        return None
    layer = make("linear", out_features=int(w.shape[0]), bias=bias is not None, trainable=bool(w.requires_grad))
    return Mapped([layer], params=[t for t in (w, bias) if t is not None])
