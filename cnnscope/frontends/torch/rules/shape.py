"""Tensor plumbing that moves values without computing: view/reshape, flatten/unflatten,
squeeze/unsqueeze, permute/transpose, expand, and the no-op conversions.

A reshape is recorded as its full output shape with the leading dim ``-1`` (inferred from the
element count), so the graph holds at any batch: a plain ``(B, ...)``, a batch folded with
windows or heads, or one folded after a permute moved it.
"""

from __future__ import annotations

from math import prod

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, sizes, try_make, try_map
from cnnscope.layers.base import Layer


def reshape_to(call: Call) -> Layer | None:
    src, out = call.ins[0], call.out
    if out == src:
        return make("identity")
    if len(src) > 2 and out == (src[0], prod(src[1:])):
        return make("flatten")
    if not out:
        return None
    # the leading dim inferred: right whether it is the batch, the batch folded with windows
    # or heads, or (after a permute moved the batch) some dim the batch is folded into
    return try_make("reshape", shape=[-1, *out[1:]])


@rule("view", "reshape", "unflatten", "squeeze", "unsqueeze", sig=("input", "*shape"))
def view(call: Call) -> Mapped | None:
    if len(call.data) != 1 or not call.is_data(call.args.get("input")):
        return None
    if call.op == "view" and call.args.get("shape") and not isinstance(call.args["shape"][0], (int, list, tuple)):
        return None  # x.view(dtype): a reinterpretation, not a reshape
    layer = reshape_to(call)
    return None if layer is None else Mapped([layer])


@rule("flatten", sig=("input", "start_dim", "end_dim"))
def flatten(call: Call) -> Mapped | None:
    raw = {k: int(call.args[k]) for k in ("start_dim", "end_dim") if call.args.get(k) is not None}
    if call.op == "flatten" and "start_dim" not in raw:
        raw["start_dim"] = 0  # torch.flatten(x) and x.flatten() start at dim 0, unlike nn.Flatten
    return Mapped([make("flatten", **raw)])


@rule("permute", sig=("input", "*dims"))
def permute(call: Call) -> Mapped | None:
    dims = call.args.get("dims")
    perm = [int(d) % call.rank for d in sizes(dims)]
    return Mapped([make("permute", dims=perm)])


@rule("transpose", sig=("input", "dim0", "dim1"))
def transpose(call: Call) -> Mapped | None:
    perm = list(range(call.rank))
    a, c = int(call.args["dim0"]) % call.rank, int(call.args["dim1"]) % call.rank
    perm[a], perm[c] = perm[c], perm[a]
    return Mapped([make("permute", dims=perm)])


@rule("t", sig=("input",))
def t(call: Call) -> Mapped | None:
    return Mapped([make("permute", dims=list(range(call.rank))[::-1])])


# conversions that hand back their input when they change nothing (x.contiguous() on a
# contiguous tensor, x.float() on a float one): the builder then makes no node at all
NO_OPS = (
    "contiguous", "clone", "detach", "float", "to", "type_as", "requires_grad", "type", "double", "half",
    "bfloat16", "cpu", "cuda",
)  # fmt: skip


@rule(*NO_OPS, sig=("input",))
def no_op(call: Call) -> Mapped | None:
    if call.out != call.ins[0]:
        return None
    return Mapped([make("identity")], inputs=[0])


@rule("expand", sig=("input", "*sizes"))
def expand(call: Call) -> Mapped | None:
    target = sizes(call.args.get("sizes", ()))
    src = call.ins[0]
    if len(target) == len(src):
        target = [-1 if t == s else t for t, s in zip(target, src, strict=True)]
        if src and src[0] == 1 and call.out[0] != 1:
            target[0] = call.out[0]
    return try_map("expand", sizes=target)


@rule("expand_as", sig=("input", "other"))
def expand_as(call: Call) -> Mapped | None:
    src = call.ins[0]
    target = [-1 if o == s else o for o, s in zip(call.out, (1,) * (len(call.out) - len(src)) + src, strict=True)]
    layer = try_make("expand", sizes=target)
    return None if layer is None else Mapped([layer], inputs=[0])


@rule("roll", sig=("input", "shifts", "dims"))
def roll(call: Call) -> Mapped | None:
    shifts, dims = call.args.get("shifts"), call.args.get("dims")
    if dims is None or shifts is None:
        return None
    sh = [shifts] if isinstance(shifts, int) else list(shifts)
    ds = [dims] if isinstance(dims, int) else list(dims)
    return try_map("roll", shifts=[int(s) for s in sh], dims=[int(d) for d in ds])


@rule("view_as", "reshape_as", sig=("input", "other"))
def view_as(call: Call) -> Mapped | None:
    if not call.is_data(call.args.get("input")):
        return None
    sub = Call(call.op, call.args, call.ins[:1], call.data[:1], call.outs)
    layer = reshape_to(sub)
    return None if layer is None else Mapped([layer], inputs=[0])


@rule("repeat_interleave", sig=("input", "repeats", "dim"))
def repeat_interleave(call: Call) -> Mapped | None:
    """``x.repeat_interleave(r, dim)``: a count (a number, or a one-element tensor) or one count
    per element, read when the counts are a constant whose values are known at capture."""
    b = call.args
    reps, dim = b.get("repeats"), b.get("dim")
    if len(call.data) != 1 or not call.is_data(b.get("input")) or reps is None:
        return None  # torch.repeat_interleave(counts) alone: indices, from the values
    if call.is_tensor(reps):
        try:
            counts = [int(v) for v in reps.reshape(-1).tolist()]
        except Exception:  # a fake tensor has no values: leave the call opaque
            return None
    else:
        counts = [int(reps)]
    return try_map("repeatinterleave", repeats=counts, dim=None if dim is None else int(dim))
