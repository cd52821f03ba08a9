"""The two capture paths, and the graph they give.

torch.fx symbolic tracing comes first: leaf modules are kept whole (a ``Conv2d`` is one node
named by its qualified name, ``layer1.0.conv1``), functional calls and tensor methods are
nodes of their own, and shapes come from running the traced graph on fake (meta) tensors.
When symbolic tracing fails (data-dependent control flow), the real forward pass on a
seeded random input is recorded instead, with a function mode for the calls and global
module hooks for the leaf modules; only the path that input takes is followed, and
parameters on other paths are counted as unused. Either way a ``FlopCounterMode`` watches
the run, so an op with no capture rule still has its MACs measured.

``graph.extras["capture"]`` says which path was taken (``fx`` or ``recorded``). The model is
left as it was: modes are restored and every hook and mode is removed, also after an error.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from cnnscope.errors import CnnscopeError, SourceError, SpecError
from cnnscope.frontends.torch.builder import Builder
from cnnscope.frontends.torch.leaves import is_leaf
from cnnscope.frontends.torch.sources import refuse_uncapturable, resolve_model
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.opaque import Unsupported

SEED = 0  # the recorded path's input: the same model always takes the same path


def load_module(source: str, input_shape: tuple[int, ...] | None = None, **opts: Any) -> Graph:
    """Resolve ``source`` to an ``nn.Module`` and capture its graph.

    ``kwargs``: JSON arguments of the class or factory; ``measure``: ``fake`` (default) or ``real``;
    ``inputs``: the shapes (no batch) of the forward's further required inputs, in order.
    """
    kwargs = opts.get("kwargs")
    model, shape = resolve_model(source, input_shape, str(kwargs) if kwargs is not None else None)
    measure = str(opts.get("measure", "fake"))
    batch = int(opts.get("batch", 1))
    extra = opts.get("inputs")  # the shapes of the forward's further inputs (a repeated --input)
    inputs = [tuple(int(d) for d in s) for s in extra] if isinstance(extra, (list, tuple)) else None
    return capture(
        model, shape, name=source.rsplit(":", 1)[-1], source=source, measure=measure, batch=batch, inputs=inputs
    )


def _sdpa_cpu_flops(q: Any, k: Any, v: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
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
            custom[op] = _sdpa_cpu_flops
    return FlopCounterMode(display=False, custom_mapping=custom)


# fused kernels whose matmuls torch's flop table does not see: a count across one of them
# is not the op's cost, so the node says its MACs are unknown
_FUSED = (
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


class _Meter:
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
                registry[op] = shape_wrapper(_sdpa_cpu_flops)
        fused = {getattr(aten, n) for n in _FUSED if hasattr(aten, n)}
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
                return (self[i] for i in range(count))
        return self.tracer.iter(self)  # type: ignore[no-any-return]


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
    mod: nn.Module, args: Sequence[Any], kwargs: dict[str, Any], builder: Builder
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
    if pc.total != sum(p.numel() for p in mod.parameters(recurse=True)):
        return None
    if pc.buffers != sum(b.numel() for b in mod.buffers(recurse=True)):
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


def _scope_of(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    return str(list(stack.values())[-1][0])


def _required(model: nn.Module) -> list[str]:
    """The names of the forward's required positional arguments (the model's inputs)."""
    import inspect

    try:
        sig = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return ["x"]
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in sig.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty]
    return names or ["x"]


def _defaults(model: nn.Module) -> dict[str, Any]:
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


def _run_fx(model: nn.Module, builder: Builder, xs: Sequence[torch.Tensor], analytic: bool = False) -> Any:
    graph = _Tracer().trace(model, concrete_args=_defaults(model) or None)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    # defaulted arguments (timm's forward(x, attn_mask=None)) keep their defaults
    required = [n for n in placeholders if not n.args]
    if len(required) != len(xs):
        raise SpecError(
            "unsupported-model",
            f"the model's forward takes {len(required)} required inputs; {len(xs)} input shape(s) were given",
        )
    meter = _Meter()

    class Interp(fx.Interpreter):
        traced: bool = False

        def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
            if analytic and target in _SAME_SHAPE and args and isinstance(args[0], torch.Tensor):
                # a normalization keeps its input's shape and has no multiply-adds; on fake
                # tensors its decomposition costs more than the rest of the capture
                self.zero = True
                x = args[0]
                return _fake_like(x, tuple(x.shape))
            if not _helper(target) or not builder.reads_data(args):
                return super().call_function(target, args, kwargs)
            # a Python helper that fx kept whole (torch.fx.wrap: torchvision's shifted window
            # attention, timm's custom layers): run it with its torch calls recorded
            rec = _Recorder(builder, meter)
            rec.stack.append(self.scope)
            self.traced = True
            with rec:
                return target(*args, **kwargs)

        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            if analytic and builder.reads_data(args):
                out = _analytic_output(self.fetch_attr(str(target)), args, kwargs, builder)
                if out is not None:
                    self.skipped = True
                    return out
            return super().call_module(target, args, kwargs)

        def run_node(self, n: fx.Node) -> Any:
            self.skipped = self.traced = self.zero = False
            self.scope = _scope_of(n)
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
                    builder.add("function", n.target, _scope_of(n), args, kwargs, out, macs)
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


def _helper(target: Any) -> bool:
    """A plain Python function of a model library (not torch's, not an operator)."""
    import inspect

    if not inspect.isfunction(target):
        return False
    mod = getattr(target, "__module__", "") or ""
    return mod.split(".")[0] not in ("torch", "_operator", "operator", "math", "builtins", "cnnscope")


class _Recorder(TorchFunctionMode):
    def __init__(self, builder: Builder, meter: _Meter) -> None:
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


def _run_recorded(model: nn.Module, builder: Builder, xs: Sequence[torch.Tensor]) -> Any:
    from torch.nn.modules import module as module_mod

    meter = _Meter()
    rec = _Recorder(builder, meter)
    builder.set_input(xs[0])
    for name, t in zip(_required(model)[1:], xs[1:], strict=False):
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


def _seeded_inputs(shapes: Sequence[tuple[int, ...]]) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(SEED)
    return [torch.randn(shape, generator=gen) for shape in shapes]


def capture(
    model: nn.Module,
    input_shape: Sequence[int],
    name: str = "model",
    source: str = "",
    measure: str = "fake",
    batch: int = 1,
    inputs: Sequence[Sequence[int]] | None = None,
) -> Graph:
    """The layer graph of ``model`` for an input of ``input_shape`` (no batch).

    ``measure="fake"`` propagates shapes on fake tensors (no compute); ``"real"`` runs the
    traced graph on a seeded random input (the measured shapes are then torch's own).
    ``batch``: the batch size the shapes are measured at. ``inputs``: the shapes of the
    forward's further required inputs (RAFT's second image); by default each has the shape
    of the first. They become ``extrainput`` nodes named as the forward's arguments.
    """
    with _sigint_watch() as pressed:
        try:
            return _capture(model, input_shape, name, source, measure, batch, inputs)
        except SystemExit as exc:  # user code never decides cnnscope's exit code
            raise SourceError(
                "forward-failed",
                f"`{name}`'s forward called sys.exit({exc.code!r})",
                hint="a model's forward must return its output, not exit",
            ) from None
        except KeyboardInterrupt:
            if pressed():
                raise  # Ctrl-C: an interrupt, as anywhere else
            raise SourceError("forward-failed", f"`{name}`'s forward raised KeyboardInterrupt itself") from None


@contextmanager
def _sigint_watch() -> Iterator[Any]:
    """Tells a real Ctrl-C from a KeyboardInterrupt that the model's code raised."""
    import signal
    import threading

    seen = [False]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: True  # no handler can be set here: every interrupt counts as Ctrl-C
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if previous is signal.SIG_IGN:
            return
        seen[0] = True
        if callable(previous):
            previous(signum, frame)  # Python's default handler raises KeyboardInterrupt itself
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: seen[0]
    finally:
        signal.signal(signal.SIGINT, previous)


def _capture(
    model: nn.Module,
    input_shape: Sequence[int],
    name: str,
    source: str,
    measure: str,
    batch: int,
    inputs: Sequence[Sequence[int]] | None,
) -> Graph:
    shape = (int(batch), *(int(d) for d in input_shape))
    required = _required(model)
    n_required = len(required)
    extra = [tuple(int(d) for d in s) for s in inputs] if inputs is not None else [shape[1:]] * (n_required - 1)
    shapes = [shape, *((int(batch), *s) for s in extra)]
    fx_error: str | None = None
    builder = Builder(model, shape)
    with preserved(model), torch.no_grad():
        try:
            if measure == "real":
                out = _run_fx(model, builder, _seeded_inputs(shapes))
            else:
                from torch._subclasses.fake_tensor import FakeTensorMode

                log = logging.getLogger("torch._subclasses.fake_tensor")
                level = log.level
                log.setLevel(logging.CRITICAL)  # a failing op is reported by the recorded run below
                try:
                    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
                        fakes = [mode.from_tensor(torch.empty(s)) for s in shapes]
                        out = _run_fx(model, builder, fakes, analytic=True)
                finally:
                    log.setLevel(level)
            path = "fx"
        except CnnscopeError:
            raise
        except Exception as exc:
            fx_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            builder = Builder(model, shape)
            try:
                out = _run_recorded(model, builder, _seeded_inputs(shapes))
            except CnnscopeError:
                raise
            except Exception as exc2:
                msg = str(exc2).splitlines()[0] if str(exc2) else ""
                where = next(
                    (n.split("`")[1] for n in getattr(exc2, "__notes__", []) if n.startswith("cnnscope: raised in")),
                    None,
                )
                inside = f" in `{where}`" if where else ""
                raise SourceError(
                    "forward-failed",
                    f"running `{name}` on an input of shape {list(shape)} raised {type(exc2).__name__}{inside}: {msg}",
                    hint=(
                        f"the forward takes {n_required} inputs ({', '.join(required)}); each has the first's "
                        "shape unless --input is given once per input, in that order"
                        if n_required > 1 and inputs is None
                        else "check --input (channels first, no batch)"
                    ),
                ) from None
            path = "recorded"
    return _to_graph(builder, out, name, source, path, fx_error, shape)


def _to_graph(
    builder: Builder, out: Any, name: str, source: str, path: str, fx_error: str | None, shape: tuple[int, ...]
) -> Graph:
    outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
    ends = [builder.tensors[id(t)] for t in outs if builder.tensors.get(id(t), INPUT) != INPUT]
    if not ends:
        raise SpecError("unsupported-model", f"`{name}`'s output is not computed from its input by any layer")
    output = ends[0]
    by_name = {p.name: p for p in builder.nodes}
    keep: set[str] = set()
    todo = list(ends)
    while todo:  # what reaches an output (dead branches of recorded control flow go)
        n = todo.pop()
        if n in keep or n == INPUT:
            continue
        keep.add(n)
        todo.extend(by_name[n].inputs)
    pend = [p for p in builder.nodes if p.name in keep]
    nodes = [Node(p.name, p.layer, p.inputs, shares=p.shares if p.shares in keep else None) for p in pend]
    unsupported: dict[str, int] = {}
    opaque: dict[str, int] = {}
    for p in pend:
        if isinstance(p.layer, Unsupported):
            bucket = opaque if p.layer.counted else unsupported
            bucket[p.layer.op] = bucket.get(p.layer.op, 0) + 1
    counted = {i for i, owner in builder.owner.items() if owner in keep}
    extras: dict[str, Any] = {
        "capture": path,
        "unsupported": unsupported,
        "opaque": opaque,
        "measured_shapes": {p.name: list(p.shape) for p in pend},
        "torch_params": sum(p.numel() for p in builder.params.values()),
        "unused_params": _unused(builder, counted),
        "outputs": list(dict.fromkeys(ends)),
        "module_classes": {  # for export: groups of one class are candidates for one block
            n: type(m).__name__ for n, m in builder.model.named_modules() if n and not is_leaf(m)
        },
    }
    if builder.mismatches:
        extras["mac_mismatches"] = list(builder.mismatches)
    if fx_error:
        extras["fx_error"] = fx_error
    return Graph.build(name, shape[1:], nodes, output, source=source, extras=extras)


def _unused(builder: Builder, counted: set[int]) -> dict[str, Any] | None:
    """Parameters no kept node counts, by the module that holds them."""
    trainable = frozen = 0
    modules: dict[str, int] = {}
    for i, p in builder.params.items():
        if i in counted:
            continue
        if p.requires_grad:
            trainable += p.numel()
        else:
            frozen += p.numel()
        qual = builder.param_names.get(i, "")
        mod = qual.rsplit(".", 1)[0] if "." in qual else qual
        modules[mod] = modules.get(mod, 0) + p.numel()
    if not trainable and not frozen:
        return None
    return {"trainable": trainable, "non_trainable": frozen, "modules": modules}
