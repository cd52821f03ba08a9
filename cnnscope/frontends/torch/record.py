"""The recorded path: the real forward pass on a seeded input, its calls recorded by a function
mode and its leaf modules by global module hooks (for models fx cannot trace)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from cnnscope.frontends.torch.builder import Builder
from cnnscope.frontends.torch.leaves import is_leaf
from cnnscope.frontends.torch.meter import Meter


def required_inputs(model: nn.Module) -> list[str]:
    """The names of the forward's required positional arguments (the model's inputs)."""
    import inspect

    try:
        sig = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return ["x"]
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in sig.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty]
    return names or ["x"]


class Recorder(TorchFunctionMode):
    def __init__(self, builder: Builder, meter: Meter) -> None:
        super().__init__()
        self.builder = builder
        self.meter = meter
        self.stack: list[str] = []
        self.leaf_depth = 0
        self.leaf_start: list[tuple[int, int]] = []

    def __torch_function__(
        self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        mark = self.meter.mark()
        out = func(*args, **kwargs)
        if self.leaf_depth == 0:
            macs = self.meter.since(mark)
            self.builder.add("function", func, self.stack[-1] if self.stack else "", args, kwargs, out, macs)
        return out

    def pre(self, m: nn.Module, args: Any) -> None:
        name = self.builder.module_names.get(id(m))
        if name is None:
            return
        self.stack.append(name)
        if is_leaf(m):
            self.leaf_depth += 1
            self.leaf_start.append(self.meter.mark())

    def post(self, m: nn.Module, args: Any, out: Any) -> None:
        name = self.builder.module_names.get(id(m))
        if name is None:
            return
        self.stack.pop()
        if is_leaf(m):
            self.leaf_depth -= 1
            start = self.leaf_start.pop()
            if self.leaf_depth == 0:
                self.builder.add("module", m, name, args, {}, out, self.meter.since(start))


def run_recorded(model: nn.Module, builder: Builder, xs: Sequence[torch.Tensor]) -> Any:
    from torch.nn.modules import module as module_mod

    meter = Meter()
    rec = Recorder(builder, meter)
    builder.set_input(xs[0])
    for name, t in zip(required_inputs(model)[1:], xs[1:], strict=False):
        builder.extra_input(t, name)
    h1 = module_mod.register_module_forward_pre_hook(rec.pre)
    h2 = module_mod.register_module_forward_hook(rec.post)
    try:
        with meter.active(), rec:
            return model(*xs)
    except Exception as exc:
        if rec.stack:  # the module whose forward raised, for the message
            exc.add_note(f"cnnscope: raised in module `{rec.stack[-1]}`")
        raise
    finally:
        h1.remove()
        h2.remove()
