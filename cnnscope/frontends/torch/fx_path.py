"""The fx path: symbolic trace, then the traced graph run on fake tensors (or a seeded input).

Leaf modules of known types give their outputs from their layer types' shapes, without running;
fx's tracer is given an attribute table and a cached unpacking check (its own are quadratic)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from cnnscope.errors import CnnscopeError, SpecError
from cnnscope.frontends.torch.builder import Builder
from cnnscope.frontends.torch.leaves import is_leaf
from cnnscope.frontends.torch.meter import Meter
from cnnscope.frontends.torch.record import Recorder


class _Proxy(fx.Proxy):
    """fx's proxy, with the unpacking check (``q, k, v = qkv.unbind(0)``) read from a cached
    disassembly: fx disassembles the calling function on every unpack."""

    def __iter__(self) -> Iterator[fx.Proxy]:
        import inspect

        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        if caller is not None:
            count = _unpack_count(caller.f_code, caller.f_lasti)
            if count is not None:
                return (self[i] for i in range(count))  # type: ignore[index]
        return self.tracer.iter(self)


@functools.lru_cache(maxsize=4096)
def _instructions(code: Any) -> tuple[list[int], list[Any]]:
    import dis

    insts = list(dis.get_instructions(code))
    return [i.offset for i in insts], insts


def _unpack_count(code: Any, lasti: int) -> int | None:
    """How many values the instruction at ``lasti`` unpacks, or None when it unpacks none."""
    import bisect

    offsets, insts = _instructions(code)
    at = bisect.bisect_left(offsets, lasti)
    if at < len(insts) and insts[at].opname == "UNPACK_SEQUENCE":
        return int(insts[at].argval)
    return None


class _Tracer(fx.Tracer):
    """fx's tracer with leaf modules of known types, and an attribute lookup by identity.

    fx finds the name of a parameter a forward reads by scanning the root's
    ``named_parameters()`` on every read, which is quadratic in the model's size (timm's
    norm-act layers read four tensors each). The names are the same, taken once: the first
    name of each tensor, parameters before buffers, as the scan would find them."""

    _names: dict[int, str]
    _buffer_names: dict[int, str]

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_leaf(m)

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _Proxy(node, self)

    def create_arg(self, a: Any) -> Any:
        # a parameter or buffer passed as a value (timm's norm-act layers pass their running
        # stats): fx would scan every buffer of the model to name it
        if isinstance(a, torch.Tensor):
            names = self._names if isinstance(a, torch.nn.Parameter) else self._buffer_names
            name = names.get(id(a))
            if name is not None:
                return self.create_node("get_attr", name, (), {})
        return super().create_arg(a)

    def trace(self, root: Any, concrete_args: dict[str, Any] | None = None) -> fx.Graph:
        self._names = {}
        if isinstance(root, nn.Module):
            for n, p in root.named_parameters():
                self._names.setdefault(id(p), n)
            self._buffer_names = {}
            for n, b in root.named_buffers():
                self._buffer_names.setdefault(id(b), n)
        return super().trace(root, concrete_args)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        if isinstance(attr_val, torch.nn.Parameter):
            name = self._names.get(id(attr_val))
        elif self.proxy_buffer_attributes and isinstance(attr_val, torch.Tensor):
            name = self._buffer_names.get(id(attr_val))
        else:
            return attr_val
        if name is None:
            return super().getattr(attr, attr_val, parameter_proxy_cache)  # not the root's: fx decides
        if name not in parameter_proxy_cache:
            parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {})
        return parameter_proxy_cache[name]


def _analytic_output(
    mod: nn.Module,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    builder: Builder,
    sizes: dict[int, tuple[int, int]],
) -> torch.Tensor | None:
    """The output of a leaf module of a registered type, made from its analytic shape.

    On fake tensors a module's forward costs dispatch and decomposition work (batch norm
    alone was most of a ResNet-50 capture) to learn only a shape, and the layer type gives
    that shape by the rules the property tests hold against torch. None when the module
    has no type or takes anything but plain tensors; then it runs.
    """
    if kwargs or not args or not all(isinstance(a, torch.Tensor) for a in args):
        return None
    layer = builder.leaf_layer(mod)
    if layer is None:
        return None
    ins = [tuple(int(d) for d in a.shape) for a in args]
    n = len(ins)
    if n < layer.min_inputs or (layer.max_inputs is not None and n > layer.max_inputs):
        return None
    try:
        layer.check_inputs(ins)
        shape = tuple(layer.out_shape(ins))
        pc = layer.params(ins)
    except CnnscopeError:
        return None
    # the input sizes the module was built for (in_channels, in_features, num_features) are
    # not fields; an input that disagrees with them changes the parameter count the layer
    # predicts, so such a module runs, and torch says what is wrong
    held = sizes.get(id(mod))
    if held is None:  # (a module called many times is counted once per capture)
        held = sizes[id(mod)] = (
            sum(p.numel() for p in mod.parameters(recurse=True)),
            sum(b.numel() for b in mod.buffers(recurse=True)),
        )
    if (pc.total, pc.buffers) != held:
        return None
    return _fake_like(args[0], shape)


def _fake_like(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A new tensor of ``shape`` with ``x``'s dtype and device; for a fake ``x``, made without
    dispatching (a fifth of the cost of ``torch.empty`` through the modes of a capture)."""
    from torch._subclasses.fake_tensor import FakeTensor

    if isinstance(x, FakeTensor) and x.is_contiguous():  # (a strided layout is left to torch)
        with torch._C._DisableTorchDispatch():
            meta = torch.empty(shape, dtype=x.dtype, device="meta")
        return FakeTensor(x.fake_mode, meta, x.device)
    if tuple(x.shape) == shape:
        return torch.empty_like(x)
    return torch.empty(shape, dtype=x.dtype, device=x.device)


def scope_of(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    return str(list(stack.values())[-1][0])


def defaulted_inputs(model: nn.Module) -> dict[str, Any]:
    """The forward's defaulted arguments, fixed for tracing (``forward(x, attn_mask=None)``)."""
    import inspect

    try:
        sig = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.kind in kinds and p.default is not inspect.Parameter.empty
    }


def run_fx(model: nn.Module, builder: Builder, xs: Sequence[torch.Tensor], analytic: bool = False) -> Any:
    graph = _Tracer().trace(model, concrete_args=defaulted_inputs(model) or None)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    # defaulted arguments (timm's forward(x, attn_mask=None)) keep their defaults
    required = [n for n in placeholders if not n.args]
    if len(required) != len(xs):
        raise SpecError(
            "unsupported-model",
            f"the model's forward takes {len(required)} required inputs; {len(xs)} input shape(s) were given",
        )
    meter = Meter()
    sizes: dict[int, tuple[int, int]] = {}  # module id -> its parameters' and buffers' sizes

    class Interp(fx.Interpreter):
        traced: bool = False

        def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
            if analytic and target in _SAME_SHAPE and args and isinstance(args[0], torch.Tensor):
                # a normalization keeps its input's shape and has no multiply-adds; on fake
                # tensors its decomposition costs more than the rest of the capture
                self.zero = True
                x = args[0]
                return _fake_like(x, tuple(x.shape))
            if not library_helper(target) or not builder.reads_data(args):
                return super().call_function(target, args, kwargs)
            # a Python helper that fx kept whole (torch.fx.wrap: torchvision's shifted window
            # attention, timm's custom layers): run it with its torch calls recorded
            rec = Recorder(builder, meter)
            rec.stack.append(self.scope)
            self.traced = True
            with rec:
                return target(*args, **kwargs)

        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            if analytic and builder.reads_data(args):
                out = _analytic_output(self.fetch_attr(str(target)), args, kwargs, builder, sizes)
                if out is not None:
                    self.skipped = True
                    return out
            return super().call_module(target, args, kwargs)

        def run_node(self, n: fx.Node) -> Any:
            self.skipped = self.traced = self.zero = False
            self.scope = scope_of(n)
            mark = meter.mark()
            out = super().run_node(n)
            macs = None if self.skipped else 0 if self.zero else meter.since(mark)
            if self.traced:
                return out
            if n.op in ("call_module", "call_function", "call_method"):
                args, kwargs = self.fetch_args_kwargs_from_env(n)
                if n.op == "call_module":
                    mod = self.fetch_attr(str(n.target))
                    builder.add("module", mod, str(n.target), args, kwargs, out, macs)
                else:
                    builder.add("function", n.target, scope_of(n), args, kwargs, out, macs)
            elif n.op == "placeholder" and isinstance(out, torch.Tensor):
                if not builder.has_input():
                    builder.set_input(out)
                else:
                    builder.extra_input(out, str(n.target))
            return out

    with meter.active():
        # the graph runs on the model itself: its targets are the model's own qualified names
        # (a GraphModule would copy every attribute path first)
        return Interp(model, graph=graph).run(*xs)


def _same_shape() -> frozenset[Any]:
    import torch.nn.functional as F

    return frozenset(f for f in (F.batch_norm, F.layer_norm, F.group_norm, F.instance_norm) if f is not None)


_SAME_SHAPE = _same_shape()


def library_helper(target: Any) -> bool:
    """A plain Python function of a model library (not torch's, not an operator)."""
    import inspect

    if not inspect.isfunction(target):
        return False
    mod = getattr(target, "__module__", "") or ""
    return mod.split(".")[0] not in ("torch", "_operator", "operator", "math", "builtins", "cnnscope")
