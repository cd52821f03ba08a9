"""Graph -> a real ``torch.nn.Module`` that runs the graph (imports torch).

Modules are nested by the dotted node names, so parameter names match the spec's layer
names (``layer1.0.conv1.weight``), as torchvision's do for the same architecture.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cnnscope.graph import INPUT, Graph


class GraphModule(nn.Module):
    """Runs the nodes of a :class:`Graph` in topological order."""

    def __init__(self, graph: Graph, batch: int = 1) -> None:
        super().__init__()
        from cnnscope.analyze.shapes import infer_shapes

        shapes = infer_shapes(graph, batch)
        self._order: list[tuple[str, tuple[str, ...]]] = []
        self._paths: dict[str, str] = {}
        self.output_name = graph.output
        self.input_shape = graph.input_shape
        last_use: dict[str, int] = {}
        for k, node in enumerate(graph.nodes):
            for i in node.inputs:
                last_use[i] = k
        last_use[graph.output] = len(graph.nodes)
        self._free_after: list[tuple[str, ...]] = [() for _ in graph.nodes]
        for name, k in last_use.items():
            if k < len(graph.nodes):
                self._free_after[k] = (*self._free_after[k], name)
        for node in graph.nodes:
            module = node.layer.to_torch([shapes[i] for i in node.inputs])
            self._paths[node.name] = self._attach(node.name, module)
            self._order.append((node.name, node.inputs))

    def _attach(self, name: str, module: nn.Module) -> str:
        parts = name.split(".")
        parent: nn.Module = self
        ok = True
        for p in parts[:-1]:
            child = parent._modules.get(p)
            if child is None and hasattr(parent, p):  # a node named as a Module attribute (`rpn.to`)
                ok = False
                break
            if child is None:
                child = nn.Module()
                parent.add_module(p, child)
            elif type(child) is not nn.Module:  # a layer is also used as a prefix: flatten
                ok = False
                break
            parent = child
        if ok and parts[-1] not in parent._modules and not hasattr(parent, parts[-1]):
            parent.add_module(parts[-1], module)
            return name
        flat = base = name.replace(".", "__")
        k = 1
        while flat in self._modules or hasattr(self, flat):  # taken: `l0` after `l0.a`, or `a__b` and `a.b`
            flat, k = f"{base}__{k}", k + 1
        self.add_module(flat, module)
        return flat

    def layer(self, name: str) -> nn.Module:
        """The torch module built for node ``name``."""
        return self.get_submodule(self._paths[name])

    def forward(self, x: torch.Tensor, return_all: bool = False) -> Any:
        env: dict[str, torch.Tensor] = {INPUT: x}
        keep: dict[str, torch.Tensor] = {}
        for k, (name, inputs) in enumerate(self._order):
            out = self.layer(name)(*[env[i] for i in inputs])
            env[name] = out
            if return_all:
                keep[name] = out
            for dead in self._free_after[k]:
                if dead != INPUT:
                    env.pop(dead, None)
        return keep if return_all else env[self.output_name]


def build_module(graph: Graph, batch: int = 1) -> GraphModule:
    """The torch module for ``graph``, in eval mode, on the CPU, float32."""
    return GraphModule(graph, batch).eval()
