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
from typing import Any

import torch
from torch.utils._pytree import tree_flatten

from cnnscope.frontends.torch.mapping import Mapper, checked
from cnnscope.frontends.torch.nodes import Pending, _shape
from cnnscope.frontends.torch.rules import Mapped, find, make
from cnnscope.frontends.torch.rules.shape import NO_OPS
from cnnscope.frontends.torch.rules.writes import writes_itself, written_region
from cnnscope.layers.base import Layer
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


class Builder(Mapper):
    """Calls in, nodes out: ``add`` is every call either capture path records (the record of
    the graph so far is ``nodes.py``'s, the mapping of one call ``mapping.py``'s)."""

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
