"""Which modules are leaves of the capture, and as which layer type.

A ``torch.nn`` class whose name is a registered type's ``torch_name`` (``nn.Conv2d`` ->
``conv2d``) is read back from its attributes, one per field. cnnscope's own torch modules
(``cnnscope/layers/_*torch*.py``) are found the same way. Other ``torch.nn`` modules are
kept whole: a module rule (``rules/``) maps them, or they become opaque nodes.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
from torch import nn

from cnnscope.errors import CnnscopeError
from cnnscope.frontends.torch.rules import find_module, make, plain
from cnnscope.layers.base import Layer, registry

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


_TORCH_TYPES: tuple[int, dict[type, type[Layer]]] = (-1, {})


def _own_torch_modules() -> list[Any]:
    """cnnscope's own torch modules (``cnnscope/layers/_*torch*.py``), which ``to_torch``
    builds for the layer types torch.nn has no class for."""
    import cnnscope.layers as layers_pkg
    from cnnscope.modules import names

    return [
        importlib.import_module(f"cnnscope.layers.{n}")
        for n in sorted(names(layers_pkg.__path__))
        if n.startswith("_") and "torch" in n
    ]


def _torch_types() -> dict[type, type[Layer]]:
    """torch.nn class (or cnnscope's own torch module class) -> layer type (built once per
    registry size: called for every module)."""
    global _TORCH_TYPES
    reg = registry()
    if _TORCH_TYPES[0] == len(reg):
        return _TORCH_TYPES[1]
    out: dict[type, type[Layer]] = {}
    own = _own_torch_modules()
    for cls in reg.values():
        if not cls.torch_name:
            continue
        for where in (nn, *own):
            tcls = getattr(where, cls.torch_name, None)
            if isinstance(tcls, type) and issubclass(tcls, nn.Module):
                out.setdefault(tcls, cls)
                break
    _TORCH_TYPES = (len(reg), out)
    return out


def _registered(m: nn.Module) -> type[Layer] | None:
    """The layer type of a module: a torch.nn class of a registered type, or one of cnnscope's
    own modules (a spec built with ``build_module``) that holds every field of its type as an
    attribute, so the layer can be read back whole. Others (``LayerScale``, whose γ shape is
    all it keeps) are traced through like user code."""
    t = type(m)
    cls = _torch_types().get(t)
    if cls is None or t.__module__.startswith("torch.nn."):
        return cls
    return cls if all(hasattr(m, f.name) for f in cls.fields() if f.name != "trainable") else None


def is_leaf(m: nn.Module) -> bool:
    """Registered torch.nn classes (and cnnscope's own modules), and other torch.nn modules
    (kept whole: mapped by a module rule, or opaque)."""
    if _registered(m) is not None or find_module(type(m).__name__) is not None:
        return True
    return type(m).__module__.startswith("torch.nn.") and not isinstance(m, _CONTAINERS)


def layer_from_module(m: nn.Module) -> Layer | None:
    """The layer for a module of a registered type, from its attributes."""
    cls = _registered(m)
    if cls is None or find_module(type(m).__name__) is not None:
        return None
    raw: dict[str, Any] = {}
    for f in cls.fields():
        if f.name == "trainable" or not hasattr(m, f.name):
            continue
        v = getattr(m, f.name)
        if f.name == "bias" and (v is None or isinstance(v, torch.Tensor)):
            v = v is not None
        if v is None or isinstance(v, torch.Tensor):
            continue
        raw[f.name] = plain(v)
    ps = list(m.parameters())
    if ps and not any(p.requires_grad for p in ps):
        raw["trainable"] = False
    try:
        return make(cls.type_name, **raw)
    except CnnscopeError:
        return None
