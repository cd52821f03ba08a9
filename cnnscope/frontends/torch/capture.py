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

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

from cnnscope.errors import CnnscopeError, SourceError, SpecError
from cnnscope.frontends.torch.builder import Builder
from cnnscope.frontends.torch.fx_path import run_fx
from cnnscope.frontends.torch.leaves import is_leaf
from cnnscope.frontends.torch.preserve import preserved
from cnnscope.frontends.torch.record import required_inputs, run_recorded
from cnnscope.frontends.torch.rules import rules
from cnnscope.frontends.torch.sources import resolve_model
from cnnscope.graph import INPUT, Graph, Node

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
    rules()  # every rule module, before any attempt: a broken one is cnnscope's error, not the model's
    shape = (int(batch), *(int(d) for d in input_shape))
    required = required_inputs(model)
    n_required = len(required)
    extra = [tuple(int(d) for d in s) for s in inputs] if inputs is not None else [shape[1:]] * (n_required - 1)
    shapes = [shape, *((int(batch), *s) for s in extra)]
    fx_error: str | None = None
    builder = Builder(model, shape)
    with preserved(model), torch.no_grad():
        try:
            if measure == "real":
                out = run_fx(model, builder, _seeded_inputs(shapes))
            else:
                from torch._subclasses.fake_tensor import FakeTensorMode

                log = logging.getLogger("torch._subclasses.fake_tensor")
                level = log.level
                log.setLevel(logging.CRITICAL)  # a failing op is reported by the recorded run below
                try:
                    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
                        fakes = [mode.from_tensor(torch.empty(s)) for s in shapes]
                        out = run_fx(model, builder, fakes, analytic=True)
                finally:
                    log.setLevel(level)
            path = "fx"
        except CnnscopeError:
            raise
        except Exception as exc:
            fx_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            builder = Builder(model, shape)
            try:
                out = run_recorded(model, builder, _seeded_inputs(shapes))
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
        if p.layer.opaque:  # the layer says what it is: its op, and whether the dispatcher costed it
            bucket = opaque if p.layer.cost_known() else unsupported
            label = p.layer.op_label()
            bucket[label] = bucket.get(label, 0) + 1
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
