"""Keeping the user's model as it was, whatever a capture does (also after an error)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from cnnscope.frontends.torch.sources import refuse_uncapturable


@contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Eval mode inside; after, also after an error, the model is as it was: every module's
    mode, its submodules, parameters and buffers (the objects, and the buffers' values: a
    forward may count its calls in one), and its hooks."""
    refuse_uncapturable(model, "the model")  # lazy or TorchScript: say so, for live modules too
    saved: list[tuple[nn.Module, bool, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, dict[Any, Any]]]] = []
    for m in model.modules():
        hooks = {k: dict(v) for k, v in vars(m).items() if k.endswith("hooks") and isinstance(v, dict)}
        saved.append((m, m.training, dict(m._modules), dict(m._parameters), dict(m._buffers), hooks))
    values = {id(b): (b, b.detach().clone()) for b in model.buffers() if b.numel() <= 1 << 22}
    try:
        model.eval()
        yield
    finally:
        for m, mode, mods, params, bufs, hooks in saved:
            m.training = mode
            stores: list[tuple[dict[str, Any], dict[str, Any]]] = [
                (m._modules, mods),
                (m._parameters, params),
                (m._buffers, bufs),
            ]
            for store, kept in stores:
                if store.keys() != kept.keys() or any(store[k] is not v for k, v in kept.items()):
                    store.clear()
                    store.update(kept)
            for k, hv in hooks.items():
                cur = getattr(m, k, None)
                if isinstance(cur, dict) and cur.keys() != hv.keys():
                    cur.clear()
                    cur.update(hv)
        with torch.no_grad():
            for buf, old in values.values():
                if buf.shape == old.shape and not torch.equal(buf, old):
                    buf.copy_(old)


# -- the two capture paths ---------------------------------------------------------------------
