"""The builder: torch calls in (from either capture path), graph nodes out.

Every call whose arguments hold a data tensor (the input, or anything computed from it)
becomes a node: the capture rule of its op (``rules/``) gives the layer, or, failing that,
an opaque node whose shape, parameters and MACs are measured. Parameters are counted once,
on the node that uses them first. A parameter used as an operand rather than as a layer's
weight (ViT's class token, a position embedding, a relative-position table, a gain) enters
the graph as a ``parameter`` node of its own, so what is computed from it is followed too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

from cnnscope.errors import CnnscopeError
from cnnscope.frontends.torch.leaves import layer_from_module
from cnnscope.frontends.torch.rules import Call, Mapped, Rule, bind, find, find_module, make
from cnnscope.frontends.torch.rules.shape import NO_OPS
from cnnscope.frontends.torch.rules.writes import writes_itself, written_region
from cnnscope.graph import INPUT
from cnnscope.layers.base import Layer, Shape
from cnnscope.layers.opaque import Unsupported

_ALIASES = {
    "iadd": "add",
    "radd": "add",
    "isub": "sub",
    "imul": "mul",
    "rmul": "mul",
    "itruediv": "div",
    "truediv": "div",
    "divide": "div",
    "true_divide": "div",
    "rtruediv": "rdiv",
    "subtract": "sub",
    "multiply": "mul",
    "concat": "cat",
    "concatenate": "cat",
    "swapaxes": "transpose",
    "swapdims": "transpose",
    "imatmul": "matmul",
}


_CONSTRUCTORS = {
    "new_zeros",
    "new_ones",
    "new_full",
    "new_empty",
    "new_tensor",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand_like",
    "randn_like",
    "arange",
    "zeros",
    "ones",
    "full",
    "empty",
}


def op_name(target: Any) -> str:
    """``F.max_pool2d`` -> ``max_pool2d``; ``Tensor.__iadd__`` -> ``add``; ``relu_`` -> ``relu``."""
    raw = target if isinstance(target, str) else getattr(target, "__name__", type(target).__name__)
    name = raw.strip("_")
    return _ALIASES.get(name, name)


@dataclass
class Pending:
    name: str
    layer: Layer
    inputs: tuple[str, ...]
    shares: str | None
    shape: tuple[int, ...]
    module: str = ""  # the qualified name of the module it ran in


def _shape(t: torch.Tensor) -> Shape:
    return tuple(int(d) for d in t.shape)


@dataclass
class Builder:
    model: nn.Module
    input_shape: Shape = ()
    nodes: list[Pending] = field(default_factory=list)
    names: set[str] = field(default_factory=lambda: {INPUT})
    tensors: dict[int, str] = field(default_factory=dict)  # tensor id -> the node that computes it
    alive: list[Any] = field(default_factory=list)  # keeps recorded tensors alive: ids stay unique
    owner: dict[int, str] = field(default_factory=dict)  # parameter id -> the node that counts it
    module_calls: dict[int, str] = field(default_factory=dict)  # module id -> its first node
    mismatches: list[str] = field(default_factory=list)  # analytic MACs != the dispatcher's count

    def __post_init__(self) -> None:
        self.params = {id(p): p for p in self.model.parameters()}
        self.param_names = {id(p): n for n, p in self.model.named_parameters()}
        self.module_names = {id(m): n for n, m in self.model.named_modules()}
        self.shapes: dict[str, Shape] = {}
        self.fixed: set[str] = set()  # nodes whose shape does not follow the batch
        self._leaf_layers: dict[int, Layer | None] = {}

    def leaf_layer(self, m: nn.Module) -> Layer | None:
        """The layer a leaf module reads back as, made once per module and capture."""
        key = id(m)
        if key not in self._leaf_layers:
            self._leaf_layers[key] = layer_from_module(m)
        return self._leaf_layers[key]

    def set_input(self, x: torch.Tensor) -> None:
        self.tensors[id(x)] = INPUT
        self.alive.append(x)

    def reads_data(self, args: Sequence[Any]) -> bool:
        """Whether a call's tensor arguments include data (the input or what it feeds)."""
        for a in args:  # (most arguments are tensors or numbers: no pytree walk for them)
            if isinstance(a, torch.Tensor):
                if id(a) in self.tensors:
                    return True
            elif a is not None and not isinstance(a, (bool, int, float, str)) and self._reads(a):
                return True
        return False

    def _reads(self, tree: Any) -> bool:
        return any(isinstance(t, torch.Tensor) and id(t) in self.tensors for t in tree_flatten(tree)[0])

    def has_input(self) -> bool:
        return INPUT in self.tensors.values()

    def extra_input(self, x: torch.Tensor, name: str) -> None:
        """A further input of the forward: an ``extrainput`` node, batched as ``input``."""
        node = self.unique(name)
        self._append(Pending(node, make("extrainput", shape=list(x.shape[1:])), (INPUT,), None, _shape(x)))
        self._map_out(x, node)

    def unique(self, base: str) -> str:
        base = base or "op"
        if base not in self.names:
            self.names.add(base)
            return base
        k = 1
        while f"{base}_{k}" in self.names:
            k += 1
        self.names.add(f"{base}_{k}")
        return f"{base}_{k}"

    def _shape_of(self, name: str) -> Shape:
        return self.input_shape if name == INPUT else self.shapes[name]

    def _fixed(self, t: torch.Tensor) -> bool:
        """A tensor whose shape does not follow the batch: a parameter or constant (or what
        is computed from them alone)."""
        name = self.tensors.get(id(t))
        if name is None:
            return True  # a parameter or constant about to enter as a node
        return name in self.fixed

    def _tensor_shape(self, t: torch.Tensor) -> Shape:
        name = self.tensors.get(id(t))
        return _shape(t) if name is None else self._shape_of(name)

    def _append(self, p: Pending) -> None:
        self.nodes.append(p)
        self.shapes[p.name] = p.shape
        kind = p.layer.type_name
        source = kind == "constant" or (kind == "parameter" and not p.layer.config().get("batched", False))
        derived = kind not in ("parameter", "extrainput") and all(i in self.fixed for i in p.inputs)
        if source or derived:
            self.fixed.add(p.name)

    # -- parameters and constants as graph sources -------------------------------------
    def source_node(self, t: torch.Tensor) -> str:
        if id(t) in self.params:
            return self.param_node(t)
        name = self.unique("constant")
        self._append(Pending(name, make("constant", shape=list(t.shape)), (INPUT,), None, _shape(t)))
        self._map_out(t, name)
        return name

    def param_node(self, p: torch.Tensor) -> str:
        """The ``parameter`` node of ``p`` (made on first use as an operand)."""
        name = self.tensors.get(id(p))
        if name is not None:
            return name
        qual = self.param_names.get(id(p), "param")
        layer = make("parameter", shape=list(p.shape), trainable=bool(p.requires_grad))
        name = self.unique(qual)
        self._append(Pending(name, layer, (INPUT,), None, _shape(p)))
        self.tensors[id(p)] = name
        self.owner.setdefault(id(p), name)
        self.alive.append(p)
        return name

    # -- one call -----------------------------------------------------------------------
    def add(
        self,
        kind: str,
        target: Any,
        scope: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        out: Any,
        measured: int | None = None,
    ) -> None:
        if kind == "function" and op_name(target) == "setitem" and args and isinstance(args[0], torch.Tensor):
            if len(args) > 2 and writes_itself(*args[:3]):
                return  # `x[i] += y` ends in `x[i] = x[i]`: the in-place op already wrote through the view
            out = args[0]  # `result[idx] = value` writes into `result`, which now depends on `value`
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if not outs:
            return  # metadata (x.size(0), x.shape): no node
        if all(id(t) in self.tensors for t in outs) and self._hands_back(kind, target, args):
            return  # tensors that have nodes already (an item of a tuple, x.contiguous()); in-place ops go on
        if kind == "function" and op_name(target) in _CONSTRUCTORS:
            return  # x.new_zeros(...), zeros_like(x): a constant, whatever tensor gave its dtype
        flat = [t for t in tree_flatten((list(args), kwargs))[0] if isinstance(t, torch.Tensor)]
        data = [t for t in flat if id(t) in self.tensors]
        loose = [t for t in flat if id(t) in self.params and id(t) not in self.tensors]
        if not data and not loose:
            if kind == "module" and measured and any(True for _ in target.parameters()):
                # a module with weights run on constants alone (Swin-v2's position-bias MLP on
                # its coordinate table): its inputs enter as constant nodes, so its cost and
                # what it feeds count
                consts = [t for t in flat if id(t) not in self.params]
                for t in consts:
                    self.source_node(t)
                self._add_module(target, scope, args, kwargs, outs, consts, measured)
            return  # a constant: literals or buffers alone
        if kind == "module":
            self._add_module(target, scope, args, kwargs, outs, data, measured)
            return
        op = op_name(target)
        base = f"{scope}.{op}" if scope else op
        r = find(op)
        mapped: Mapped | None = None
        reason = f"`{op}` has no capture rule"
        if not data:  # computed from parameters alone: they enter as nodes
            data, loose = self._operands(args, kwargs), []
        if r is not None:
            mapped, reason = self._apply(r, op, args, kwargs, data, outs)
            unclaimed = loose if mapped is None else [t for t in loose if not any(t is c for c in mapped.params)]
            if mapped is None:  # constant tensors as operands (a mask, a table) enter as nodes too
                unclaimed = unclaimed + [t for t in flat if id(t) not in self.tensors and id(t) not in self.params]
            if unclaimed:  # parameters as operands: as graph inputs, then map again
                wider = self._operands(args, kwargs, unclaimed)
                again, why = self._apply(r, op, args, kwargs, wider, outs)
                if again is not None:
                    mapped, data, loose = again, wider, [t for t in loose if not any(t is u for u in unclaimed)]
                else:
                    mapped, reason = None, why if mapped is None else reason
        if mapped is None:
            self._opaque(op, base, data, outs, reason, measured, params=loose)
        else:
            self._emit(base, mapped, data, outs, measured)
            if op in ("expand", "expand_as"):
                self._batch_param(data[0], outs[0])
        self._written_bases(outs, args)

    def _written_bases(self, outs: list[Any], args: Sequence[Any]) -> None:
        """An in-place write into a view (``batched[i, :c].copy_(img)``) changes the tensor
        it views: that tensor now depends on the data too, through a node of its own."""
        for t in outs:
            base = getattr(t, "_base", None)
            if base is None or not any(t is a for a in args) or id(t) not in self.tensors:
                continue
            src = self.tensors[id(t)]
            name = self.unique(f"{src}.base")
            layer: Layer = Unsupported(
                op="view-write",
                shape=_shape(base),
                measured_macs=0,
                in0=self._in0((src,)),
                reason="an in-place write into a view of this tensor",
            )
            ins: tuple[str, ...] = (src,)
            region = written_region(base, t)
            if src in self.fixed:  # a parameter's copy with a slice zeroed (Swin-v2's qkv bias)
                layer = make("constant", shape=list(base.shape))
            elif region is not None:  # the base with the view's region written: a `sliceput`
                prev = self.tensors[id(base)] if id(base) in self.tensors else self.source_node(base)
                put = make("sliceput", index=region)
                if checked(put, [self._shape_of(prev), self._shape_of(src)], _shape(base)) is None:
                    layer, ins = put, (prev, src)
            self._append(Pending(name, layer, ins, None, _shape(base)))
            self._map_out(base, name)

    @staticmethod
    def _hands_back(kind: str, target: Any, args: Sequence[Any]) -> bool:
        if kind == "module":
            return False
        op = op_name(target)
        if op == "getitem":
            return bool(args) and not isinstance(args[0], torch.Tensor)
        return op in NO_OPS

    def _operands(self, args: Sequence[Any], kwargs: dict[str, Any], extra: Sequence[Any] = ()) -> list[Any]:
        """The data tensors of a call, in argument order, counting ``extra`` parameters (and,
        for a call on parameters alone, every parameter) as data."""
        flat = [t for t in tree_flatten((list(args), kwargs))[0] if isinstance(t, torch.Tensor)]
        known = [t for t in flat if id(t) in self.tensors]
        if not known and not extra:
            return [t for t in flat if id(t) in self.params]
        return [t for t in flat if id(t) in self.tensors or any(t is e for e in extra)]

    def _batch_param(self, t: Any, out: torch.Tensor) -> None:
        """``cls_token.expand(B, -1, -1)`` (or a 1-d token expanded to ``(B, C)``): the
        parameter node's leading dim follows the batch, and the expand itself is then a no-op."""
        pname, ename = self.tensors.get(id(t)), self.tensors.get(id(out))
        pnode = next((p for p in self.nodes if p.name == pname), None)
        enode = next((p for p in reversed(self.nodes) if p.name == ename), None)
        if pnode is None or enode is None or pnode.layer.type_name != "parameter":
            return
        shape, target = list(pnode.shape), tuple(int(d) for d in out.shape)
        if not target or target[0] != self.input_shape[0]:
            return
        if len(target) == len(shape) and shape and shape[0] == 1:
            own = shape
        elif len(target) == len(shape) + 1:
            own = [1, *shape]
        else:
            return
        pnode.layer = make("parameter", shape=own, batched=True, trainable=pnode.layer.trainable)
        pnode.shape = (target[0], *own[1:])
        self.shapes[pnode.name] = pnode.shape
        if tuple(pnode.shape) == target:
            enode.layer = make("identity")
        self.fixed.discard(pnode.name)
        self.fixed.discard(enode.name)

    def _apply(
        self, r: Rule, op: str, args: Sequence[Any], kwargs: dict[str, Any], data: list[Any], outs: list[Any]
    ) -> tuple[Mapped | None, str]:
        bound = bind(r, args, kwargs)
        call = Call(
            op=op,
            args=bound,
            ins=[self._tensor_shape(t) for t in data],
            data=data,
            outs=[_shape(t) for t in outs],
            params={k: v for k, v in bound.items() if isinstance(v, torch.Tensor) and id(v) in self.params},
            fixed=[self._fixed(t) for t in data],
        )
        try:
            got = r.fn(call)
        except CnnscopeError as exc:
            return None, exc.message
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        if got is None:
            return None, f"no cnnscope layer type takes this `{op}` call"
        mapped = got if isinstance(got, Mapped) else Mapped([got])
        why = self._check(mapped, call)
        return (mapped, "") if why is None else (None, why)

    def _check(self, mapped: Mapped, call: Call) -> str | None:
        ins = call.ins if mapped.inputs is None else [call.ins[i] for i in mapped.inputs]
        if mapped.per_output:
            if len(mapped.layers) != len(call.outs):
                return f"the rule gave {len(mapped.layers)} layers for {len(call.outs)} outputs"
            for layer, shape in zip(mapped.layers, call.outs, strict=True):
                why = checked(layer, ins, shape)
                if why:
                    return why
            return None
        cur = ins
        for k, layer in enumerate(mapped.layers):
            last = k == len(mapped.layers) - 1
            cur = [*cur, *(call.ins[i] for i in mapped.joins.get(k, ()))]
            try:
                layer.check_inputs(cur)
                got = tuple(layer.out_shape(cur))
            except CnnscopeError as exc:
                return exc.message
            if last:
                return checked(layer, cur, call.out)
            cur = [got]
        return None

    def _emit(self, base: str, mapped: Mapped, data: list[Any], outs: list[Any], measured: int | None) -> None:
        all_ins = [self.tensors[id(t)] if id(t) in self.tensors else self.source_node(t) for t in data]
        ins = list(all_ins)
        if mapped.inputs is not None:
            ins = [ins[i] for i in mapped.inputs]
        pset = [p for p in mapped.params if isinstance(p, torch.Tensor)]
        shares = self._shares({id(p) for p in pset})
        if mapped.per_output:
            for k, (layer, t) in enumerate(zip(mapped.layers, outs, strict=True)):
                name = self.unique(f"{base}.{k}")
                self._append(Pending(name, layer, tuple(ins), None, _shape(t)))
                self._map_out(t, name)
            return
        cur = tuple(ins)
        first = base
        for k, layer in enumerate(mapped.layers):
            last = k == len(mapped.layers) - 1
            name = self.unique(base if k == 0 else f"{first}.{layer.type_name}")
            if k == 0:
                first = name
            cur = (*cur, *(all_ins[i] for i in mapped.joins.get(k, ())))
            shape = _shape(outs[0]) if last else tuple(layer.out_shape([self._shape_of(i) for i in cur]))
            self._append(Pending(name, layer, cur, shares if k == 0 else None, shape))
            if k == 0:
                for p in pset:
                    self.owner.setdefault(id(p), name)
            cur = (name,)
        self._map_out(outs[0], cur[0])
        if measured is not None and len(mapped.layers) == 1:
            self._compare(cur[0], mapped.layers[0], measured)
        for k, t in enumerate(outs[1:], start=1):
            self._extra_output(cur[0], t, k, tuple(ins))

    def _map_out(self, t: torch.Tensor, name: str) -> None:
        self.tensors[id(t)] = name
        self.alive.append(t)

    def _extra_output(self, name: str, t: torch.Tensor, k: int, ins: tuple[str, ...]) -> None:
        """A second output that no rule describes (``max(dim)``'s indices): opaque, free."""
        if id(t) in self.tensors:
            return
        extra = self.unique(f"{name}.out{k}")
        layer = Unsupported(op=f"{name}[{k}]", shape=_shape(t), measured_macs=0, in0=self._in0(ins))
        self._append(Pending(extra, layer, ins, None, _shape(t)))
        self._map_out(t, extra)

    def _constant_result(self, ins: tuple[str, ...], params: Sequence[Any], outs: list[Any]) -> bool:
        """An op with no rule whose every input is fixed (a relative-position table gathered by
        a constant index, ``table[index]``) and that costs no multiply-adds: its result is a
        ``constant`` node fed by those inputs, so the graph keeps a layer type and the shapes
        hold at any batch. Its parameters enter as ``parameter`` nodes, counted there."""
        srcs = list(ins) + [self.param_node(p) for p in params]
        if not srcs or len(outs) != 1 or not all(i in self.fixed for i in srcs):
            return False
        name = self.unique(f"{srcs[0]}.derived" if not ins else f"{ins[0]}.derived")
        self._append(Pending(name, make("constant", shape=list(outs[0].shape)), tuple(srcs), None, _shape(outs[0])))
        self._map_out(outs[0], name)
        return True

    def _in0(self, ins: Sequence[str]) -> int:
        return self._shape_of(ins[0])[0] if ins and self._shape_of(ins[0]) else 1

    def _shares(self, pset: set[int]) -> str | None:
        if not pset:
            return None
        owners = {self.owner.get(i) for i in pset}
        if None not in owners and len(owners) == 1:
            return owners.pop()
        return None

    def _compare(self, name: str, layer: Layer, measured: int) -> None:
        shape = self.shapes[name]
        node = next(p for p in reversed(self.nodes) if p.name == name)
        try:
            macs = int(layer.macs([self._shape_of(i) for i in node.inputs], shape))
        except CnnscopeError:
            return
        if macs != measured:
            self.mismatches.append(f"{name} ({layer.type_name}): {macs} MACs analytic, {measured} measured")

    # -- modules ------------------------------------------------------------------------
    def _add_module(
        self,
        m: nn.Module,
        scope: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        outs: list[Any],
        data: list[Any],
        measured: int | None,
    ) -> None:
        pset = {id(p) for p in m.parameters()}
        ins_names = tuple(self.tensors[id(t)] for t in data)
        ins = [self._shape_of(n) for n in ins_names]
        r = find_module(type(m).__name__)
        layer = self.leaf_layer(m) if r is None else None
        reason = f"torch.nn.{type(m).__name__} has no cnnscope layer type"
        mapped: Mapped | None = None
        if r is not None:
            bound = bind(r, args, kwargs)
            bound["module"] = m
            call = Call(type(m).__name__, bound, ins, data, [_shape(t) for t in outs])
            try:
                got = r.fn(call)
            except CnnscopeError as exc:
                got, reason = None, exc.message
            if got is not None:
                mapped = got if isinstance(got, Mapped) else Mapped([got])
                layer = mapped.layers[0]
        if layer is not None:
            why = checked(
                layer,
                ins if mapped is None or mapped.inputs is None else [ins[i] for i in mapped.inputs],
                _shape(outs[0]),
            )
            if why is None:
                shares = self.module_calls.get(id(m)) if id(m) in self.module_calls and pset else self._shares(pset)
                if mapped is not None and mapped.inputs is not None:
                    ins_names = tuple(ins_names[i] for i in mapped.inputs)
                name = self.unique(scope)
                self.module_calls.setdefault(id(m), name)
                self._append(Pending(name, layer, ins_names, shares, _shape(outs[0]), scope))
                for i in pset:
                    self.owner.setdefault(i, name)
                self._map_out(outs[0], name)
                if measured is not None:
                    self._compare(name, layer, measured)
                for k, t in enumerate(outs[1:], start=1):
                    self._extra_output(name, t, k, ins_names)
                return
            reason = why
        self._opaque(type(m).__name__, scope, data, outs, reason, measured, module=m)

    # -- the last resort ------------------------------------------------------------------
    def _opaque(
        self,
        op: str,
        base: str,
        data: list[Any],
        outs: list[Any],
        reason: str,
        measured: int | None,
        params: Sequence[Any] = (),
        module: nn.Module | None = None,
    ) -> None:
        ins = tuple(self.tensors[id(t)] if id(t) in self.tensors else self.source_node(t) for t in data)
        if module is None and measured == 0 and self._constant_result(ins, params, outs):
            return  # computed from parameters and constants alone, at no cost: a constant node
        own = list(module.parameters()) if module is not None else list(params)
        pset = {id(p) for p in own}
        n_params = sum(p.numel() for p in own if id(p) not in self.owner)
        n_buffers = sum(b.numel() for b in module.buffers()) if module is not None else 0
        shares = None
        if module is not None and id(module) in self.module_calls:
            shares, n_params, n_buffers = self.module_calls[id(module)], 0, 0
        if measured is None:
            reason = (
                "torch ran a fused kernel (an RNN, or an attention fast path) whose multiply-adds "
                "its flop table cannot see"
            )
        name = self.unique(base)
        if module is not None:
            self.module_calls.setdefault(id(module), name)
        layer = Unsupported(
            op=op,
            shape=_shape(outs[0]),
            param_count=n_params,
            buffer_count=n_buffers,
            reason=reason,
            measured_macs=measured,
            in0=self._in0(ins),
        )
        self._append(Pending(name, layer, ins, shares, _shape(outs[0])))
        for i in pset:
            self.owner.setdefault(i, name)
        self._map_out(outs[0], name)
        for k, t in enumerate(outs[1:], start=1):
            self._extra_output(name, t, k, ins)


def checked(layer: Layer, ins: list[Shape], shape: Shape) -> str | None:
    """None when the layer takes these inputs and gives the measured shape; else why not."""
    n = len(ins)
    if n < layer.min_inputs or (layer.max_inputs is not None and n > layer.max_inputs):
        return f"{layer.type_name} takes {layer.min_inputs}..{layer.max_inputs or 'n'} tensor inputs, got {n}"
    try:
        layer.check_inputs(ins)
        got = tuple(layer.out_shape(ins))
    except CnnscopeError as exc:
        return exc.message
    if got != tuple(shape):
        return f"cnnscope's {layer.type_name} gives {list(got)}, torch gives {list(shape)}"
    return None
