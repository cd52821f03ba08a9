"""Attention: scaleddotproductattention (F.scaled_dot_product_attention) and
multiheadattention (torch.nn.MultiheadAttention).

MACs are the matrix products (what ``FlopCounterMode`` / 2 counts when the attention runs as
matmuls, torch's math path):

- ``scaleddotproductattention`` on q ``(…, L, E)``, k ``(…, S, E)``, v ``(…, S, Ev)``:
  ``B_qk·L·S·E`` for q·kᵀ and ``B_out·L·S·Ev`` for the weights times v, where ``B_qk`` is the
  product of q's and k's broadcast batch dims and ``B_out`` that of the output's (the same
  unless v broadcasts further): ``B·L·S·(E + Ev)``, torch's ``sdpa_flop_count`` / 2;
- ``multiheadattention``: the q, k, v input projections (``L·N·E·E + S·N·kdim·E + S·N·vdim·E``),
  q·kᵀ and the weights times v (``2·N·L·S'·E`` over all heads, ``S' = S`` plus one for
  ``add_bias_kv`` and one for ``add_zero_attn``) and the output projection (``L·N·E·E``).

Other ops (docs/conventions.md): the softmax over the attention weights counts 3 per weight
(``activation``), as softmax does; the scale 1 per weight (``elementwise``); an attention mask
1 per weight (``merge``); multiheadattention's projection biases 1 per projected value
(``bias``).

Every output position sees every key position: receptive fields are global.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any, ClassVar

from cnnscope.errors import ShapeError
from cnnscope.layers._dims import broadcast_shapes, check_count, shapes_text
from cnnscope.layers.base import Layer, ParamCount, RFMap, Shape, Step, _fmt, layer_dataclass, register
from cnnscope.layers.fields import Bool, FieldError, Float, Int, OptFloat, OptInt, fld

SOFTMAX_OPS_PER_ELEMENT = 3  # as the softmax layer: exponential, sum, divide


@register
@layer_dataclass
class ScaledDotProductAttention(Layer):
    torch_name: ClassVar[str] = "ScaledDotProductAttention"  # F.scaled_dot_product_attention
    torch_home: ClassVar[str] = "_torch_ops"
    family: ClassVar[str] = "attention"
    summary: ClassVar[str] = "softmax(q·kᵀ·scale [+ mask])·v on inputs q, k, v [, attn_mask]"
    min_inputs: ClassVar[int] = 3
    max_inputs: ClassVar[int | None] = 4

    is_causal: bool = fld(Bool(), False, "mask out keys after each query (lower-triangular); no attn_mask input then")
    scale: float | None = fld(OptFloat(), None, "multiplier of q·kᵀ (null: 1/sqrt(E))")
    dropout_p: float = fld(Float(min=0.0, max=1.0), 0.0, "dropout on the weights while training (none at inference)")

    def _dims(self, ins: Sequence[Shape]) -> tuple[Shape, Shape, int, int, int, int]:
        """``(B_qk, B_out, L, S, E, Ev)``, or a ShapeError."""
        check_count(self, ins)
        q, k, v = ins[:3]
        if min(len(q), len(k), len(v)) < 2:
            raise ShapeError("shape-mismatch", f"q, k and v need at least 2 dims (…, L, E), got {shapes_text(ins[:3])}")
        (L, E), (S, Ek), (Sv, Ev) = q[-2:], k[-2:], v[-2:]
        if Ek != E:
            raise ShapeError("shape-mismatch", f"q's last dim ({E}) differs from k's ({Ek}): {shapes_text(ins[:3])}")
        if Sv != S:
            raise ShapeError("shape-mismatch", f"k has {S} positions but v has {Sv} (dim -2): {shapes_text(ins[:3])}")
        b_qk = broadcast_shapes([q[:-2], k[:-2]], "attends between batches that")
        b_out = broadcast_shapes([b_qk, v[:-2]], "attends between batches that")
        if len(ins) == 4:
            if self.is_causal:
                raise ShapeError("shape-mismatch", "is_causal: true takes no attn_mask input (torch refuses both)")
            mask, target = ins[3], (*b_qk, L, S)
            fits = 2 <= len(mask) <= len(target) and all(
                m in (1, t) for m, t in zip(reversed(mask), reversed(target), strict=False)
            )
            if not fits:
                raise ShapeError(
                    "shape-mismatch",
                    f"attn_mask {list(mask)} does not broadcast to the weights' shape {list(target)}",
                    hint="the mask needs (…, L, S), each dim equal or 1",
                )
        return b_qk, b_out, L, S, E, Ev

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._dims(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        _b_qk, b_out, L, _S, _E, Ev = self._dims(ins)
        return (*b_out, L, Ev)

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        b_qk, b_out, L, S, E, Ev = self._dims(ins)
        return prod(b_qk) * L * S * E + prod(b_out) * L * S * Ev

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        b_qk, _b_out, L, S, _E, _Ev = self._dims(ins)
        w = prod(b_qk) * L * S
        ops = {"activation": SOFTMAX_OPS_PER_ELEMENT * w, "elementwise": w}
        if len(ins) == 4:
            ops["merge"] = w
        return ops

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.GLOBAL

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        b_qk, b_out, L, S, E, Ev = self._dims(ins)
        scale = f"{self.scale:g}" if self.scale is not None else f"1/√{E}"
        return [
            Step("output shape", f"(…, L={L}, Ev={Ev}) with batch {_fmt(b_out) or '()'}", _fmt(out)),
            Step("weights", f"q·kᵀ·{scale}: {prod(b_qk):,} × {L}×{S}", f"{prod(b_qk) * L * S:,}"),
            Step("MACs", f"{prod(b_qk):,}·{L}·{S}·{E} + {prod(b_out):,}·{L}·{S}·{Ev}", f"{self.macs(ins, out):,}"),
        ]


@register
@layer_dataclass
class MultiheadAttention(Layer):
    torch_name: ClassVar[str] = "MultiheadAttention"
    family: ClassVar[str] = "attention"
    summary: ClassVar[str] = "torch.nn.MultiheadAttention: self-attention (one input) or q, k, v; its output only"
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 3

    embed_dim: int = fld(Int(min=1), doc="E: the model width (q's last dim and the output's)")
    num_heads: int = fld(Int(min=1), doc="heads; must divide embed_dim")
    dropout: float = fld(Float(min=0.0, max=1.0), 0.0, "dropout on the attention weights while training")
    bias: bool = fld(Bool(), True, "biases of the input and output projections")
    add_bias_kv: bool = fld(Bool(), False, "learn one extra key and value (appended to k and v)")
    add_zero_attn: bool = fld(Bool(), False, "append a zero key and value")
    kdim: int | None = fld(OptInt(min=1), None, "k's last dim (null: embed_dim)")
    vdim: int | None = fld(OptInt(min=1), None, "v's last dim (null: embed_dim)")
    batch_first: bool = fld(Bool(), False, "inputs are (N, L, E); false: (L, N, E), torch's default")

    def validate(self) -> None:
        if self.embed_dim % self.num_heads:
            raise FieldError(f"num_heads={self.num_heads} does not divide embed_dim={self.embed_dim}", "num_heads")

    def has_bias(self) -> bool:
        return bool(self.bias)

    def _kv(self) -> tuple[int, int]:
        return self.kdim or self.embed_dim, self.vdim or self.embed_dim

    def _dims(self, ins: Sequence[Shape]) -> tuple[int, int, int]:
        """``(N, L, S)`` (N = 1 unbatched), or a ShapeError."""
        if len(ins) not in (1, 3):
            raise ShapeError("wrong-arity", f"takes 1 input (self-attention) or 3 (q, k, v), got {len(ins)}")
        if self.embed_dim % self.num_heads:  # validate() says so for specs; also for layers made directly
            raise ShapeError("bad-value", f"num_heads={self.num_heads} does not divide embed_dim={self.embed_dim}")
        q, k, v = (ins[0],) * 3 if len(ins) == 1 else ins
        kdim, vdim = self._kv()
        rank = len(q)
        if rank not in (2, 3) or len(k) != rank or len(v) != rank:
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ShapeError(
                "shape-mismatch", f"expects q, k, v of {layout} (or unbatched (L, E)), got {shapes_text([q, k, v])}"
            )
        for name, s, want in (("q", q, self.embed_dim), ("k", k, kdim), ("v", v, vdim)):
            if s[-1] != want:
                raise ShapeError(
                    "shape-mismatch",
                    f"{name}'s last dim is {s[-1]}, expected {want}: {shapes_text([q, k, v])}",
                    hint="kdim / vdim set the widths of k and v" if name != "q" else None,
                )
        if k[:-1] != v[:-1]:
            raise ShapeError("shape-mismatch", f"k and v differ before their last dim: {shapes_text([k, v])}")
        if rank == 2:
            return 1, q[0], k[0]
        seq, batch = (1, 0) if self.batch_first else (0, 1)
        if q[batch] != k[batch]:
            raise ShapeError("shape-mismatch", f"q and k have different batch sizes: {shapes_text([q, k])}")
        return q[batch], q[seq], k[seq]

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        self._dims(ins)

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        self._dims(ins)
        return ins[0]

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        E = self.embed_dim
        kdim, vdim = self._kv()
        n = E * (E + kdim + vdim) + E * E  # in projections (q, k, v), out projection
        if self.bias:
            n += 3 * E + E
        if self.add_bias_kv:
            n += 2 * E
        return self._params(n)

    def _s(self, s: int) -> int:
        return s + int(self.add_bias_kv) + int(self.add_zero_attn)

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        N, L, S = self._dims(ins)
        E = self.embed_dim
        kdim, vdim = self._kv()
        proj = N * (L * E * E + S * kdim * E + S * vdim * E + L * E * E)
        return proj + 2 * N * L * self._s(S) * E

    def other_ops(self, ins: Sequence[Shape], out: Shape) -> dict[str, int]:
        N, L, S = self._dims(ins)
        w = N * self.num_heads * L * self._s(S)
        ops = {"activation": SOFTMAX_OPS_PER_ELEMENT * w, "elementwise": w}
        if self.bias:
            ops["bias"] = N * self.embed_dim * (2 * L + 2 * S)
        return ops

    def rf(self, ins: Sequence[Shape]) -> RFMap:
        return RFMap.GLOBAL

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        import torch.nn as nn

        from cnnscope.layers import _torch_ops

        return self._freeze(_torch_ops.MultiheadAttentionOutput(nn.MultiheadAttention(**self.torch_kwargs(ins))))

    def explain(self, ins: Sequence[Shape], out: Shape) -> list[Step]:
        N, L, S = self._dims(ins)
        E, H = self.embed_dim, self.num_heads
        kdim, vdim = self._kv()
        s2 = self._s(S)
        return [
            Step("output shape", f"as q: {H} heads of {E // H}", _fmt(out)),
            Step(
                "parameters",
                f"q, k, v, out projections {E}·({E}+{kdim}+{vdim}+{E}) + biases",
                f"{self.params(ins).total:,}",
            ),
            Step(
                "MACs",
                f"{N}·({L}·{E}·{E} + {S}·{kdim}·{E} + {S}·{vdim}·{E} + {L}·{E}·{E}) + 2·{N}·{L}·{s2}·{E}",
                f"{self.macs(ins, out):,}",
            ),
        ]
