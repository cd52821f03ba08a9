"""MACs per call, counted by the dispatcher as ``FlopCounterMode`` counts them.

The capture runs under one :class:`Meter`: the MACs of a call are the count's difference around
it, so an op with no capture rule still has its cost measured; a fused kernel the count
cannot see into (RNNs, attention fast paths) makes the call's MACs unknown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


def sdpa_cpu_flops(q: Any, k: Any, v: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """torch's own attention formula, for shapes ``(*batch, L, E)`` of any rank."""
    from torch.utils.flop_counter import sdpa_flop_count

    def as4(shape: Any) -> tuple[int, ...]:
        dims = [int(d) for d in shape]
        lead = 1
        for d in dims[:-2]:
            lead *= d
        return (1, lead, *dims[-2:])

    return int(sdpa_flop_count(as4(q), as4(k), as4(v)))  # type: ignore[no-untyped-call]


def flop_counter() -> Any:
    """A ``FlopCounterMode`` that also counts the CPU attention kernel (which torch's table
    leaves at 0)."""
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    custom = {}
    for name in ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_fused_attention_overrideable"):
        op = getattr(aten, name, None)
        if op is not None:
            custom[op] = sdpa_cpu_flops
    return FlopCounterMode(display=False, custom_mapping=custom)


# fused kernels whose matmuls torch's flop table does not see: a count across one of them
# is not the op's cost, so the node says its MACs are unknown
FUSED = (
    "lstm",
    "gru",
    "rnn_tanh",
    "rnn_relu",
    "_native_multi_head_attention",
    "_transformer_encoder_layer_fwd",
    "mkldnn_rnn_layer",
    "mkldnn_rnn",
    "_thnn_fused_lstm_cell",
    "_thnn_fused_gru_cell",
    "miopen_rnn",
    "_cudnn_rnn",
)


class Meter:
    """Per-call MACs, counted as ``FlopCounterMode`` counts them, in one dispatch mode.

    The counts come from torch's own flop formulas (``torch.utils.flop_counter``'s registry,
    plus the CPU attention kernel), applied the way ``FlopCounterMode`` applies them: a
    composite op decomposes first, shape queries pass through. One mode instead of a
    ``FlopCounterMode`` beside a watch mode halves the Python dispatch cost of every op of a
    capture, and needs no module tracker. A call's MACs are the difference of the total
    around it, or None when a fused kernel the count cannot see ran inside it.
    (``tests/test_capture_rules.py`` and ``tests/test_real_models.py`` hold the result
    against ``FlopCounterMode`` itself.)"""

    def __init__(self) -> None:
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils.flop_counter import flop_registry, shape_wrapper

        self.flops = 0
        self.fused = 0
        meter = self
        aten = torch.ops.aten
        registry: dict[Any, Any] = dict(flop_registry)
        for name in ("_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_fused_attention_overrideable"):
            op = getattr(aten, name, None)
            if op is not None:
                registry[op] = shape_wrapper(sdpa_cpu_flops)  # type: ignore[no-untyped-call,unused-ignore]
        fused = {getattr(aten, n) for n in FUSED if hasattr(aten, n)}
        queries = {
            getattr(aten, n).default
            for n in (
                "sym_is_contiguous",
                "is_contiguous",
                "is_strides_like_format",
                "is_non_overlapping_and_dense",
                "size",
                "sym_size",
                "stride",
                "sym_stride",
                "storage_offset",
                "sym_storage_offset",
                "numel",
                "sym_numel",
                "dim",
            )
            if hasattr(aten, n)
        }
        queries |= {aten.is_contiguous.memory_format, torch.ops.prim.layout.default}
        device = torch.ops.prim.device.default
        composite = torch._C.DispatchKey.CompositeImplicitAutograd

        class Count(TorchDispatchMode):  # type: ignore[no-untyped-call]
            def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                kwargs = kwargs or {}
                if func in queries:
                    return NotImplemented
                packet = func._overloadpacket
                if packet in fused:
                    meter.fused += 1
                if func is not device and func.has_kernel_for_dispatch_key(composite):
                    with self:  # as FlopCounterMode: a composite op counts as its parts
                        r = func.decompose(*args, **kwargs)
                    if r is not NotImplemented:
                        return r
                out = func(*args, **kwargs)
                formula = registry.get(packet)
                if formula is not None:
                    meter.flops += int(formula(*args, **kwargs, out_val=out))
                return out

        self.mode = Count()  # type: ignore[no-untyped-call]

    @contextmanager
    def active(self) -> Iterator[None]:
        with self.mode:
            yield

    def total(self) -> int:
        return self.flops

    def mark(self) -> tuple[int, int]:
        return self.flops, self.fused

    def since(self, mark: tuple[int, int]) -> int | None:
        if self.fused != mark[1]:
            return None
        return (self.flops - mark[0]) // 2


# -- keeping the user's model as it was ------------------------------------------------------
