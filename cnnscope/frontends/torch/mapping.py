"""One call mapped onto nodes: a function call through its capture rule (``_apply``,
``_check``, ``_emit``), a module call through its rule or its leaf layer (``_add_module``),
and the last resort, an opaque node whose cost the dispatcher measured (``_opaque``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from cnnscope.errors import CnnscopeError
from cnnscope.frontends.torch.nodes import Nodes, Pending, _shape
from cnnscope.frontends.torch.rules import Call, Mapped, Rule, bind, find_module, make
from cnnscope.layers.base import Layer, Shape
from cnnscope.layers.opaque import Unsupported


class Mapper(Nodes):
    """Maps one call (the builder's ``add`` says which kind it is) onto nodes."""

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
