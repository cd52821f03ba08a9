"""The torch oracle for whole models: unique parameters and FlopCounterMode MACs, made true on CPU.

Shared by tests/test_real_models.py and bench/coverage.py (which puts this folder on
``sys.path``: the bench must not depend on cnnscope internals, and cnnscope/ ships no test code).

Two holes of ``torch.utils.flop_counter.FlopCounterMode`` on CPU are filled here:

- ``F.scaled_dot_product_attention`` dispatches to ``aten._scaled_dot_product_flash_attention_for_cpu``
  on CPU, which has no flop formula (only the CUDA kernels are registered) and no decomposition:
  it counts 0. We register torch's own ``sdpa_flop_count`` (2·B·H·L·S·(E + Ev) flops) for it.
- ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` take the fused
  ``aten._native_multi_head_attention`` / ``_transformer_encoder_layer_fwd`` fast path in eval
  under ``no_grad``: projections and attention together count 0. The oracle switches the fast
  path off (``torch.backends.mha.set_fastpath_enabled(False)``) while it counts, and raises
  if a fused kernel still runs.

MACs = FlopCounterMode total / 2 (one multiply-add = 2 flops there, 1 MAC in cnnscope).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

aten = torch.ops.aten

# CPU (and other non-CUDA) sdpa kernels that FlopCounterMode has no formula for
_SDPA_OPS = [
    "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_fused_attention_overrideable",
    "_scaled_dot_product_attention_math_for_mps",
]
# fused fast-path kernels that must not run while counting (they would count 0)
_FUSED_OPS = ["_native_multi_head_attention", "_transformer_encoder_layer_fwd", "_transformer_decoder_only_layer_fwd"]


def _sdpa_flop(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    q, k, v = (tuple(s) for s in (query_shape, key_shape, value_shape))
    if len(q) != 4:  # (..., L, E): fold leading dims into one batch, one head
        lead = 1
        for d in q[:-2]:
            lead *= int(d)
        q, k, v = (1, lead, *q[-2:]), (1, lead, *k[-2:]), (1, lead, *v[-2:])
    return int(sdpa_flop_count(q, k, v))


def _refuse(*args: Any, **kw: Any) -> int:
    raise RuntimeError("a fused attention kernel ran while counting: its flops would be 0")


def custom_formulas() -> dict[Any, Any]:
    """FlopCounterMode ``custom_mapping``: sdpa kernels torch does not count on CPU get torch's own
    formula; the fused fast-path kernels raise (they would silently count 0)."""
    out: dict[Any, Any] = {}
    for names, formula in ((_SDPA_OPS, _sdpa_flop), (_FUSED_OPS, _refuse)):
        for name in names:
            packet = getattr(aten, name, None)
            if packet is not None:
                out[packet] = formula
    return out


@contextlib.contextmanager
def mha_fastpath_disabled() -> Iterator[None]:
    """Switch off the fused MultiheadAttention / TransformerEncoderLayer eval path while inside."""
    mha = torch.backends.mha
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


def unique_params(model: torch.nn.Module) -> int:
    """Parameters of ``model``, each tensor once (``parameters()`` already skips shared ones)."""
    return sum(p.numel() for p in model.parameters())


def oracle_macs(model: torch.nn.Module, args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> int:
    """MACs of one eval forward pass, ``model(*args, **kwargs)``: FlopCounterMode / 2, sdpa counted."""
    counter = FlopCounterMode(display=False, custom_mapping=custom_formulas())
    was_training = model.training
    # FlopCounterMode's module tracker hooks the backward of outputs that require grad; a module
    # returning a parameter as is (a class token: timm's cait, pit) then fails its "gradient
    # function" assertion. Nothing requires grad while counting.
    frozen = [p for p in model.parameters() if p.requires_grad]
    model.eval()
    try:
        for p in frozen:
            p.requires_grad_(False)
        with torch.no_grad(), mha_fastpath_disabled(), counter:
            model(*args, **(kwargs or {}))
    finally:
        for p in frozen:
            p.requires_grad_(True)
        model.train(was_training)
    return int(counter.get_total_flops()) // 2


def oracle(model: torch.nn.Module, args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> dict[str, int]:
    """``{"params": unique numel, "macs": FlopCounterMode / 2}`` for ``model(*args, **kwargs)``."""
    return {"params": unique_params(model), "macs": oracle_macs(model, args, kwargs)}
