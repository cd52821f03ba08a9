"""The builder's record of the graph so far: the nodes made (``Pending``), which node
computes each tensor, which node counts each parameter, and the nodes every call may need
(the input, a parameter or constant entering as a source, a further output, a unique name).
``mapping.py`` maps one call onto these; ``builder.py`` decides what each call is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

from cnnscope.errors import CnnscopeError
from cnnscope.frontends.torch.leaves import layer_from_module
from cnnscope.frontends.torch.rules import make
from cnnscope.graph import INPUT
from cnnscope.layers.base import Layer, Shape
from cnnscope.layers.opaque import Unsupported


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
class Nodes:
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
