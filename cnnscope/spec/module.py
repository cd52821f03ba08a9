"""A torch ``nn.Module`` -> the same :class:`~cnnscope.graph.Graph` a YAML spec gives.

Sources: ``pkg.mod:attr``, ``path/file.py:attr`` (a module instance, a class, or a factory;
``kwargs`` is a JSON object of its arguments), ``torchvision:name`` and ``timm:name``.

Capture: torch.fx symbolic tracing, leaf modules kept whole (a ``Conv2d`` is one node named by
its qualified name, ``layer1.0.conv1``), functional calls and tensor methods as nodes of their
own; shapes come from running the traced graph on fake (meta) tensors. When symbolic tracing
fails (data-dependent control flow), the real forward pass on a small random input is recorded
instead, with a function mode for the calls and global module hooks for the leaf modules.
``graph.extras["capture"]`` says which path was taken (``fx`` or ``recorded``).

The model is left as it was: modes are restored and every hook and mode is removed, also after
an error. Importing user code runs it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.fx as fx
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from cnnscope.errors import CnnscopeError, SourceError, SpecError, did_you_mean
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import Layer, ParamCount, RFKind, RFStep, Shape, layer_dataclass, registry
from cnnscope.spec.loader import make_layer

# -- the opaque layer: an op cnnscope has no type for ---------------------------------------


@layer_dataclass
class Unsupported(Layer):
    """An op with no cnnscope layer type: its measured shape and parameters, unknown costs."""

    type_name: ClassVar[str] = "unsupported"
    family: ClassVar[str] = "opaque"
    summary: ClassVar[str] = "an op cnnscope cannot analyze (captured from a torch module)"
    opaque: ClassVar[bool] = True
    min_inputs: ClassVar[int] = 0
    max_inputs: ClassVar[int | None] = None

    op: str = ""
    shape: tuple[int, ...] = ()  # measured output shape at batch 1
    param_count: int = 0
    buffer_count: int = 0
    reason: str = ""

    def check_inputs(self, ins: Sequence[Shape]) -> None:
        return None

    def out_shape(self, ins: Sequence[Shape]) -> Shape:
        if ins and self.shape and self.shape[0] == 1 and ins[0] and ins[0][0] != 1:
            return (ins[0][0], *self.shape[1:])
        return self.shape

    def params(self, ins: Sequence[Shape]) -> ParamCount:
        return ParamCount(trainable=self.param_count, buffers=self.buffer_count)

    def rf(self, ins: Sequence[Shape]) -> RFStep | str:
        return RFKind.UNSUPPORTED

    def warnings(self, ins: Sequence[Shape], out: Shape) -> list[str]:
        why = f": {self.reason}" if self.reason else ""
        return [f"`{self.op}` is not supported; its MACs are unknown (totals are incomplete){why}"]

    def to_torch(self, ins: Sequence[Shape]) -> Any:
        raise SpecError("unsupported-op", f"`{self.op}` has no cnnscope layer type to build")


# -- sources ---------------------------------------------------------------------------------

DEFAULT_SHAPES = {"torchvision": (3, 224, 224)}


def load_module(source: str, input_shape: tuple[int, ...] | None = None, **opts: Any) -> Graph:
    """Resolve ``source`` to an ``nn.Module`` and capture its graph.

    ``kwargs``: JSON arguments of the class or factory; ``measure``: ``fake`` (default) or ``real``.
    """
    kwargs = opts.get("kwargs")
    model, shape = resolve_model(source, input_shape, str(kwargs) if kwargs is not None else None)
    measure = str(opts.get("measure", "fake"))
    return capture(model, shape, name=source.rsplit(":", 1)[-1], source=source, measure=measure)


def parse_kwargs(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            "bad-kwargs",
            f"--kwargs is not valid JSON: {exc.msg} (column {exc.colno})",
            hint="e.g. --kwargs '{\"num_classes\": 10}'",
        ) from None
    if not isinstance(value, dict):
        raise SourceError("bad-kwargs", "--kwargs must be a JSON object of argument names to values")
    return value


def resolve_model(
    source: str, input_shape: tuple[int, ...] | None = None, kwargs: str | None = None
) -> tuple[nn.Module, tuple[int, ...]]:
    """The module a source names, and the input shape to use (no batch)."""
    prefix, _, attr = source.rpartition(":")
    if not prefix or not attr:
        raise SourceError(
            "bad-source", f"`{source}` is not `module:attr`", hint="e.g. mypkg.models:Net or model.py:Net"
        )
    kw = parse_kwargs(kwargs)
    if prefix == "torchvision":
        model = _from_torchvision(attr, kw)
    elif prefix == "timm":
        model = _from_timm(attr, kw)
    else:
        model = _instantiate(_import_attr(prefix, attr), kw, source)
    shape = input_shape or _declared_shape(model, prefix, source)
    return model, tuple(shape)


def _missing_extra(pkg: str) -> SourceError:
    return SourceError(
        "missing-extra",
        f"`{pkg}:` sources need {pkg}, which is not installed",
        hint=f"pip install 'cnnscope[{pkg}]' (or pip install {pkg})",
    )


def _from_torchvision(name: str, kw: dict[str, Any]) -> nn.Module:
    try:
        import torchvision.models as tvm
    except ImportError:
        raise _missing_extra("torchvision") from None
    names = list(tvm.list_models())
    if name not in names:
        raise SourceError("source-not-found", f"torchvision has no model `{name}`{did_you_mean(name, names)}")
    kw.setdefault("weights", None)  # architecture only: never download or unpickle weights
    return _call(lambda: tvm.get_model(name, **kw), f"torchvision:{name}")


def _from_timm(name: str, kw: dict[str, Any]) -> nn.Module:
    try:
        import timm
    except ImportError:
        raise _missing_extra("timm") from None
    names = list(timm.list_models())
    if name not in names:
        raise SourceError("source-not-found", f"timm has no model `{name}`{did_you_mean(name, names)}")
    kw.setdefault("pretrained", False)
    return _call(lambda: timm.create_model(name, **kw), f"timm:{name}")


def _import_attr(prefix: str, attr: str) -> Any:
    path = Path(prefix)
    if prefix.endswith(".py") or path.is_file():
        if not path.is_file():
            raise SourceError("source-not-found", f"no such file `{prefix}`")
        mod_name = f"_cnnscope_user_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise SourceError("source-not-found", f"cannot import `{prefix}` as Python")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = mod
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:
            sys.modules.pop(mod_name, None)
            raise SourceError("import-failed", f"importing `{prefix}` raised {type(exc).__name__}: {exc}") from None
    else:
        cwd = str(Path.cwd())
        added = cwd not in sys.path
        if added:  # `pkg.mod:Net` from the project folder, as `python -m` would find it
            sys.path.insert(0, cwd)
        try:
            mod = importlib.import_module(prefix)
        except ModuleNotFoundError as exc:
            raise SourceError(
                "source-not-found",
                f"cannot import `{prefix}`: {exc}",
                hint="is it installed, or on PYTHONPATH? a file path needs its `.py`",
            ) from None
        except Exception as exc:
            raise SourceError("import-failed", f"importing `{prefix}` raised {type(exc).__name__}: {exc}") from None
        finally:
            if added and cwd in sys.path:
                sys.path.remove(cwd)
    obj: Any = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise SourceError("source-not-found", f"`{prefix}` has no attribute `{attr}`{did_you_mean(part, public)}")
        obj = getattr(obj, part)
    return obj


def _call(fn: Callable[[], Any], what: str) -> nn.Module:
    try:
        model = fn()
    except TypeError as exc:
        raise SourceError("bad-kwargs", f"calling `{what}` failed: {exc}", hint="check --kwargs") from None
    except CnnscopeError:
        raise
    except Exception as exc:
        raise SourceError("import-failed", f"building `{what}` raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, nn.Module):
        raise SourceError("not-a-module", f"`{what}` gave a {type(model).__name__}, not a torch.nn.Module")
    return model


def _instantiate(obj: Any, kw: dict[str, Any], source: str) -> nn.Module:
    if isinstance(obj, nn.Module):
        if kw:
            raise SourceError("bad-kwargs", f"`{source}` is a module instance; it takes no --kwargs")
        return obj
    if not callable(obj):
        raise SourceError("not-a-module", f"`{source}` is a {type(obj).__name__}, not a module class or factory")
    return _call(lambda: obj(**kw), source)


def _declared_shape(model: nn.Module, prefix: str, source: str) -> tuple[int, ...]:
    declared = getattr(model, "input_shape", None)
    if declared is None and prefix == "timm":
        cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
        declared = cfg.get("input_size")
    if declared is None:
        declared = DEFAULT_SHAPES.get(prefix)
    if declared is None:
        raise SourceError(
            "missing-input",
            f"`{source}` declares no input shape",
            hint="pass --input 3,224,224 (channels first, no batch), or give the module an `input_shape` attribute",
        )
    try:
        dims = tuple(int(d) for d in declared)
    except (TypeError, ValueError):
        raise SourceError("missing-input", f"`{source}`'s `input_shape` is not a list of sizes: {declared!r}") from None
    if not dims or any(d < 1 for d in dims):
        raise SourceError("missing-input", f"`{source}`'s `input_shape` {list(dims)} is not a list of positive sizes")
    return dims


# -- which modules are leaves, and as which layer type --------------------------------------

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


_TORCH_TYPES: tuple[int, dict[type, type[Layer]]] = (-1, {})


def _own_torch_modules() -> list[Any]:
    """cnnscope's own torch modules (``cnnscope/layers/_*torch*.py``), which ``to_torch``
    builds for the layer types torch.nn has no class for."""
    import pkgutil

    import cnnscope.layers as layers_pkg

    names = [m.name for m in pkgutil.iter_modules(layers_pkg.__path__)]
    return [
        importlib.import_module(f"cnnscope.layers.{n}") for n in sorted(names) if n.startswith("_") and "torch" in n
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
    (kept whole, as unsupported)."""
    if _registered(m) is not None:
        return True
    return type(m).__module__.startswith("torch.nn.") and not isinstance(m, _CONTAINERS)


def layer_from_module(m: nn.Module) -> Layer | None:
    """The layer for a module of a registered type, from its attributes."""
    cls = _registered(m)
    if cls is None:
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
        raw[f.name] = _plain(v)
    ps = list(m.parameters())
    if ps and not any(p.requires_grad for p in ps):
        raw["trainable"] = False
    try:
        return _make(cls, raw)
    except CnnscopeError:
        return None


# -- functional calls and tensor methods ----------------------------------------------------

_POS: dict[str, tuple[str, ...]] = {
    "conv": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv_transpose": ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
    "linear": ("input", "weight", "bias"),
    "max_pool": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "adaptive": ("input", "output_size"),
    "flatten": ("input", "start_dim", "end_dim"),
    "cat": ("tensors", "dim"),
    "leaky_relu": ("input", "negative_slope"),
    "elu": ("input", "alpha"),
    "celu": ("input", "alpha"),
    "hardtanh": ("input", "min_val", "max_val"),
    "softplus": ("input", "beta", "threshold"),
    "softmax": ("input", "dim"),
    "log_softmax": ("input", "dim"),
    "dropout": ("input", "p"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
    "instance_norm": ("input", "running_mean", "running_var", "weight", "bias", "use_input_stats", "momentum", "eps"),
    "layer_norm": ("input", "normalized_shape", "weight", "bias", "eps"),
    "group_norm": ("input", "num_groups", "weight", "bias", "eps"),
    "pixel_shuffle": ("input", "upscale_factor"),
    "pixel_unshuffle": ("input", "downscale_factor"),
    "channel_shuffle": ("input", "groups"),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
    "upsample_nearest": ("input", "size", "scale_factor"),
    "upsample_bilinear": ("input", "size", "scale_factor"),
    "pad": ("input", "pad", "mode", "value"),
    "mean": ("input", "dim", "keepdim"),
    "mul": ("input", "other"),
    "permute": ("input", "dims"),
    "transpose": ("input", "dim0", "dim1"),
}
_ALIASES = {
    "iadd": "add",
    "radd": "add",
    "imul": "mul",
    "rmul": "mul",
    "concat": "cat",
    "concatenate": "cat",
    "contiguous": "identity",
    "clone": "identity",
    "detach": "identity",
    "multiply": "mul",
    "swapaxes": "transpose",
    "swapdims": "transpose",
}


def op_name(target: Any) -> str:
    """``F.max_pool2d`` -> ``max_pool2d``; ``Tensor.__iadd__`` -> ``add``; ``relu_`` -> ``relu``."""
    raw = target if isinstance(target, str) else getattr(target, "__name__", type(target).__name__)
    name = raw.strip("_")
    return _ALIASES.get(name, name)


def _family(name: str) -> str:
    for prefix in ("conv_transpose", "max_pool", "avg_pool", "adaptive", "conv", "dropout"):
        if name.startswith(prefix):
            return prefix
    return name


def _bind(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    if name == "permute" and len(args) > 2:  # x.permute(0, 2, 3, 1): the dims as varargs
        args = (args[0], tuple(args[1:]))
    names = _POS.get(_family(name), ("input",))
    bound = dict(zip(names, args, strict=False))
    bound.update(kwargs)
    return bound


# -- the builder: calls in, nodes out --------------------------------------------------------


@dataclass
class _Pending:
    name: str
    layer: Layer
    inputs: tuple[str, ...]
    shares: str | None
    shape: tuple[int, ...]


@dataclass
class _Builder:
    model: nn.Module
    nodes: list[_Pending] = field(default_factory=list)
    names: set[str] = field(default_factory=lambda: {INPUT})
    tensors: dict[int, str] = field(default_factory=dict)
    alive: list[Any] = field(default_factory=list)  # keeps recorded tensors alive: ids stay unique
    owner: dict[int, str] = field(default_factory=dict)  # parameter id -> node that counts it
    module_calls: dict[int, str] = field(default_factory=dict)  # module id -> its first node

    def __post_init__(self) -> None:
        self.params = {id(p): p for p in self.model.parameters()}
        self.buffers = {id(b): b for b in self.model.buffers()}
        self.module_names = {id(m): n for n, m in self.model.named_modules()}

    def set_input(self, x: torch.Tensor) -> None:
        self.tensors[id(x)] = INPUT
        self.alive.append(x)

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

    def add(self, kind: str, target: Any, scope: str, args: Sequence[Any], kwargs: dict[str, Any], out: Any) -> None:
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if not outs:
            return  # metadata (x.size(0), x.shape): no node
        flat = tree_flatten((list(args), kwargs))[0]
        data = [self.tensors[id(t)] for t in flat if isinstance(t, torch.Tensor) and id(t) in self.tensors]
        if not data:
            return  # a constant or a computation on parameters alone
        used = [t for t in flat if isinstance(t, torch.Tensor) and id(t) in self.params]
        shape = tuple(int(d) for d in outs[0].shape)
        ins_shapes = [self._shape_of(n) for n in data]
        if kind == "module":
            layer, opname, pset = self._module_layer(target, shape, ins_shapes)
            base = scope
        then: Layer | None = None
        if kind != "module":
            opname = op_name(target)
            layer, pset, then = self._function_layer(opname, args, kwargs, data, ins_shapes, shape, used)
            base = f"{scope}.{opname}" if scope else opname
        shares = None
        if pset:
            owners = {self.owner.get(i) for i in pset}
            if None not in owners and len(owners) == 1:
                shares = owners.pop()
        if kind == "module" and id(target) in self.module_calls and pset:
            shares = self.module_calls[id(target)]
        name = self.unique(base)
        if kind == "module":
            self.module_calls.setdefault(id(target), name)
        for i in pset:
            self.owner.setdefault(i, name)
        if shares is not None and isinstance(layer, Unsupported):
            layer = Unsupported(op=layer.op, shape=layer.shape, reason=layer.reason)
        if then is not None:  # one call, two layers (x.mean((2, 3)): a global pool, then a flatten)
            mid = tuple(layer.out_shape(ins_shapes))
            self.nodes.append(_Pending(name, layer, tuple(data), shares, mid))
            name, layer, data, shares = self.unique(f"{name}.flatten"), then, [name], None
        self.nodes.append(_Pending(name, layer, tuple(data), shares, shape))
        for k, t in enumerate(outs):
            if k == 0:
                self.tensors[id(t)] = name
            else:  # extra outputs of a multi-output op: one opaque node each
                extra = self.unique(f"{name}.out{k}")
                tshape = tuple(int(d) for d in t.shape)
                self.nodes.append(
                    _Pending(extra, Unsupported(op=f"{opname}[{k}]", shape=tshape), tuple(data), None, tshape)
                )
                self.tensors[id(t)] = extra
            self.alive.append(t)

    def _shape_of(self, name: str) -> tuple[int, ...]:
        if name == INPUT:
            return self.input_shape
        return next(p.shape for p in self.nodes if p.name == name)

    input_shape: tuple[int, ...] = ()

    def _module_layer(
        self, m: nn.Module, shape: tuple[int, ...], ins: list[tuple[int, ...]]
    ) -> tuple[Layer, str, set[int]]:
        pset = {id(p) for p in m.parameters()}
        layer = layer_from_module(m)
        opname = type(m).__name__
        if layer is not None:
            checked = _checked(layer, ins, shape)
            if checked is None:
                return layer, opname, pset
            reason = checked
        else:
            reason = f"torch.nn.{opname} has no cnnscope layer type"
        n_params = sum(p.numel() for p in m.parameters() if id(p) not in self.owner)
        n_buffers = sum(b.numel() for b in m.buffers())
        return (
            Unsupported(op=opname, shape=shape, param_count=n_params, buffer_count=n_buffers, reason=reason),
            opname,
            pset,
        )

    def _function_layer(
        self,
        name: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        data: list[str],
        ins: list[tuple[int, ...]],
        shape: tuple[int, ...],
        used: list[torch.Tensor],
    ) -> tuple[Layer, set[int], Layer | None]:
        bound = _bind(name, args, kwargs)
        layer: Layer | None = None
        reason = ""
        attributed: list[torch.Tensor] = []
        self.then = None
        try:
            layer, attributed = self._map_function(name, bound, ins, shape)
        except (CnnscopeError, TypeError, ValueError, KeyError, IndexError) as exc:
            reason = str(exc.message if isinstance(exc, CnnscopeError) else exc)
        pset = {id(t) for t in attributed if id(t) in self.params}
        loose = [t for t in used if id(t) not in pset]
        if layer is not None and not loose:
            then = self.then
            if then is None:
                checked = _checked(layer, ins, shape)
            else:
                checked = _checked(layer, ins, (*ins[0][:2], *(1,) * (len(ins[0]) - 2)))
                checked = checked or _checked(then, [tuple(layer.out_shape(ins))], shape)
            if checked is None:
                return layer, pset, then
            reason = checked
        elif layer is not None:
            reason = "it also takes parameters as operands"
        elif not reason:
            reason = f"`{name}` has no cnnscope layer type"
        own = {id(t): t for t in used}
        n_params = sum(t.numel() for i, t in own.items() if i not in self.owner)
        return Unsupported(op=name, shape=shape, param_count=n_params, reason=reason), set(own), None

    then: Layer | None = None  # a second layer the current call maps to (set by _map_function)

    def _map_function(
        self, name: str, b: dict[str, Any], ins: list[tuple[int, ...]], shape: tuple[int, ...]
    ) -> tuple[Layer | None, list[torch.Tensor]]:
        reg = registry()
        fam = _family(name)
        rank = len(ins[0])
        tensors = [t for t in (b.get("weight"), b.get("bias")) if isinstance(t, torch.Tensor)]
        raw: dict[str, Any]
        if fam in ("conv", "conv_transpose"):
            w = b["weight"]
            groups = int(b.get("groups", 1))
            out_ch = int(w.shape[0]) if fam == "conv" else int(w.shape[1]) * groups
            raw = {
                "out_channels": out_ch,
                "kernel_size": tuple(int(k) for k in w.shape[2:]),
                "bias": b.get("bias") is not None,
                "groups": groups,
            }
            for k in ("stride", "padding", "dilation", "output_padding"):
                if k in b and b[k] is not None:
                    raw[k] = b[k]
            tname = f"conv{len(w.shape) - 2}d" if fam == "conv" else f"convtranspose{len(w.shape) - 2}d"
            raw["trainable"] = bool(w.requires_grad)
            return _make(reg[tname], raw), tensors
        if name == "linear":
            w = b["weight"]
            raw = {
                "out_features": int(w.shape[0]),
                "bias": b.get("bias") is not None,
                "trainable": bool(w.requires_grad),
            }
            return _make(reg["linear"], raw), tensors
        if name in ("batch_norm", "instance_norm"):
            nd = max(rank - 2, 1)
            tname = f"{name.replace('_', '')}{nd}d"
            raw = {"affine": b.get("weight") is not None, "track_running_stats": b.get("running_mean") is not None}
            if b.get("eps") is not None:
                raw["eps"] = b["eps"]
            return _make(reg[tname], raw), tensors
        if name == "layer_norm":
            raw = {
                "normalized_shape": list(b["normalized_shape"]),
                "elementwise_affine": b.get("weight") is not None,
                "bias": b.get("bias") is not None,
            }
            return _make(reg["layernorm"], raw), tensors
        if name == "group_norm":
            return _make(
                reg["groupnorm"], {"num_groups": b["num_groups"], "affine": b.get("weight") is not None}
            ), tensors
        if name in ("view", "reshape"):
            if shape == (ins[0][0], prod(ins[0][1:])) and len(ins[0]) > 2:
                return _make(reg["flatten"], {}), []
            if shape == ins[0]:
                return _make(reg["identity"], {}), []
            return None, []
        if name == "cat":
            return _make(reg["concat"], {"dim": int(b.get("dim", 0))}), []
        if name in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
            if b.get("antialias"):
                return None, []
            mode = str(b.get("mode") or ("bilinear" if name == "upsample_bilinear" else "nearest"))
            corners = True if name == "upsample_bilinear" else b.get("align_corners")
            raw = {"mode": mode, "align_corners": corners}
            for k in ("size", "scale_factor"):
                if b.get(k) is not None:
                    raw[k] = b[k]
            return _make(reg["upsample"], raw), []
        if name == "pad":
            pads = [int(p) for p in b["pad"]]
            nd = rank - 2
            mode = str(b.get("mode") or "constant")
            family = {"constant": "zeropad", "reflect": "reflectionpad", "replicate": "replicationpad"}.get(mode)
            if family is None or not 1 <= nd <= 3 or len(pads) % 2 or len(pads) > 2 * nd or b.get("value"):
                return None, []
            if mode != "constant" and len(pads) != 2 * nd:
                return None, []
            pad_cls = reg.get(f"{family}{nd}d")
            if pad_cls is None:
                return None, []
            return _make(pad_cls, {"padding": pads + [0] * (2 * nd - len(pads))}), []
        if name == "mean":
            dim = b.get("dim")
            if dim is None or b.get("dtype") is not None or rank < 3:
                return None, []
            dims = sorted(int(d) % rank for d in ([dim] if isinstance(dim, int) else dim))
            if dims != list(range(2, rank)):
                return None, []
            if not b.get("keepdim", False):
                self.then = _make(reg["flatten"], {})
            return _make(reg[f"adaptiveavgpool{rank - 2}d"], {"output_size": 1}), []
        if name in ("permute", "transpose"):
            perm = list(range(rank))
            if name == "permute":
                dims = b["dims"]
                perm = [int(d) % rank for d in ([dims] if isinstance(dims, int) else dims)]
            else:  # a swap of two dims is the permutation that exchanges them
                a, c = int(b["dim0"]) % rank, int(b["dim1"]) % rank
                perm[a], perm[c] = perm[c], perm[a]
            return _make(reg["permute"], {"dims": perm}), []
        if name == "mul":
            scale = self._layer_scale(b, ins)
            if scale is not None:
                return scale
        tname = name.replace("_", "")
        cls = reg.get(tname)
        if cls is None:
            return None, []
        fields = {f.name for f in cls.fields()} - {"trainable"}
        raw = {k: v for k, v in b.items() if k in fields and v is not None and not isinstance(v, torch.Tensor)}
        return _make(cls, raw), []

    def _layer_scale(self, b: dict[str, Any], ins: list[tuple[int, ...]]) -> tuple[Layer, list[torch.Tensor]] | None:
        """``x * self.gamma`` (either order, or ``torch.mul``) as a ``layerscale``, the parameter
        counted on it: when γ has exactly the shape a layerscale would build, ``(C, 1, ..., 1)``
        with C the size of one dim after the batch (``(C, 1, 1)`` channels first, ``(C,)``
        channels last). Other shapes, even ones that broadcast the same way, stay unsupported."""
        operands = [t for t in (b.get("input"), b.get("other")) if isinstance(t, torch.Tensor)]
        params = [t for t in operands if id(t) in self.params]
        if len(operands) != 2 or len(params) != 1 or len(ins) != 1:
            return None
        p, rank = params[0], len(ins[0])
        d = rank - p.dim()
        if p.dim() < 1 or d < 1 or int(p.shape[0]) != ins[0][d] or any(int(k) != 1 for k in p.shape[1:]):
            return None
        raw = {"dim": d if d == 1 else d - rank, "trainable": bool(p.requires_grad)}
        return _make(registry()["layerscale"], raw), [p]


def _plain(v: Any) -> Any:
    """Tuples (and torch.Size) as lists: the values a YAML document would hold."""
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    return v


def _make(cls: type[Layer], raw: dict[str, Any]) -> Layer:
    return make_layer(cls, {k: _plain(v) for k, v in raw.items()})


def _checked(layer: Layer, ins: list[tuple[int, ...]], shape: tuple[int, ...]) -> str | None:
    """None when the layer takes these inputs and gives the measured shape; else why not."""
    n = len(ins)
    if n < layer.min_inputs or (layer.max_inputs is not None and n > layer.max_inputs):
        return f"{layer.type_name} takes {layer.min_inputs}..{layer.max_inputs or 'n'} tensor inputs, got {n}"
    try:
        layer.check_inputs(ins)
        got = tuple(layer.out_shape(ins))
    except CnnscopeError as exc:
        return exc.message
    if got != shape:
        return f"cnnscope's {layer.type_name} gives {list(got)}, torch gives {list(shape)}"
    return None


def _scope_of(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1][0]
    return str(path)


# -- keeping the user's model as it was ------------------------------------------------------


@contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Eval mode inside; every module's mode restored after, also after an error."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for m, mode in modes:
            m.training = mode


# -- the two capture paths ---------------------------------------------------------------------


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_leaf(m)


def _analytic_output(mod: nn.Module, args: Sequence[Any], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """The output of a leaf module of a registered type, made from its analytic shape.

    On fake tensors a module's forward costs dispatch and decomposition work (batch norm
    alone was most of a ResNet-50 capture) to learn only a shape, and the layer type gives
    that shape by the rules the property tests hold against torch. None when the module
    has no type or takes anything but plain tensors; then it runs.
    """
    if kwargs or not args or not all(isinstance(a, torch.Tensor) for a in args):
        return None
    layer = layer_from_module(mod)
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
    return torch.empty(shape, dtype=args[0].dtype, device=args[0].device)


def _run_fx(model: nn.Module, builder: _Builder, x: torch.Tensor, analytic: bool = False) -> Any:
    graph = _Tracer().trace(model)
    gm = fx.GraphModule(model, graph)

    class Interp(fx.Interpreter):
        current: fx.Node | None = None

        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            if analytic:
                out = _analytic_output(self.fetch_attr(str(target)), args, kwargs)
                if out is not None:
                    return out
            return super().call_module(target, args, kwargs)

        def run_node(self, n: fx.Node) -> Any:
            self.current = n
            out = super().run_node(n)
            if n.op in ("call_module", "call_function", "call_method"):
                args, kwargs = self.fetch_args_kwargs_from_env(n)
                if n.op == "call_module":
                    mod = self.fetch_attr(str(n.target))
                    builder.add("module", mod, str(n.target), args, kwargs, out)
                else:
                    builder.add("function", n.target, _scope_of(n), args, kwargs, out)
            elif n.op == "placeholder" and isinstance(out, torch.Tensor):
                builder.set_input(out)
            return out

    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise SpecError(
            "unsupported-model", f"the model's forward takes {len(placeholders)} inputs; cnnscope takes one"
        )
    return Interp(gm).run(x)


class _Recorder(TorchFunctionMode):
    def __init__(self, builder: _Builder) -> None:
        super().__init__()
        self.builder = builder
        self.stack: list[str] = []
        self.leaf_depth = 0

    def __torch_function__(
        self, func: Any, types: Any, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.leaf_depth == 0:
            self.builder.add("function", func, self.stack[-1] if self.stack else "", args, kwargs, out)
        return out

    def pre(self, m: nn.Module, args: Any) -> None:
        name = self.builder.module_names.get(id(m))
        if name is None:
            return
        self.stack.append(name)
        if is_leaf(m):
            self.leaf_depth += 1

    def post(self, m: nn.Module, args: Any, out: Any) -> None:
        name = self.builder.module_names.get(id(m))
        if name is None:
            return
        self.stack.pop()
        if is_leaf(m):
            self.leaf_depth -= 1
            if self.leaf_depth == 0:
                self.builder.add("module", m, name, args, {}, out)


def _run_recorded(model: nn.Module, builder: _Builder, x: torch.Tensor) -> Any:
    from torch.nn.modules import module as module_mod

    rec = _Recorder(builder)
    builder.set_input(x)
    h1 = module_mod.register_module_forward_pre_hook(rec.pre)
    h2 = module_mod.register_module_forward_hook(rec.post)
    try:
        with rec:
            return model(x)
    finally:
        h1.remove()
        h2.remove()


def capture(
    model: nn.Module,
    input_shape: Sequence[int],
    name: str = "model",
    source: str = "",
    measure: str = "fake",
    batch: int = 1,
) -> Graph:
    """The layer graph of ``model`` for an input of ``input_shape`` (no batch).

    ``measure="fake"`` propagates shapes on fake tensors (no compute); ``"real"`` runs the
    traced graph on a random input (the measured shapes are then torch's own). ``batch``:
    the batch size the shapes are measured at.
    """
    shape = (int(batch), *(int(d) for d in input_shape))
    fx_error: str | None = None
    builder = _Builder(model)
    builder.input_shape = shape
    with preserved(model), torch.no_grad():
        try:
            if measure == "real":
                out = _run_fx(model, builder, torch.randn(shape))
            else:
                from torch._subclasses.fake_tensor import FakeTensorMode

                log = logging.getLogger("torch._subclasses.fake_tensor")
                level = log.level
                log.setLevel(logging.CRITICAL)  # a failing op is reported by the recorded run below
                try:
                    with FakeTensorMode(allow_non_fake_inputs=True) as mode:
                        out = _run_fx(model, builder, mode.from_tensor(torch.empty(shape)), analytic=True)
                finally:
                    log.setLevel(level)
            path = "fx"
        except CnnscopeError:
            raise
        except Exception as exc:
            fx_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            builder = _Builder(model)
            builder.input_shape = shape
            try:
                out = _run_recorded(model, builder, torch.randn(shape))
            except CnnscopeError:
                raise
            except Exception as exc2:
                msg = str(exc2).splitlines()[0] if str(exc2) else ""
                raise SourceError(
                    "forward-failed",
                    f"running `{name}` on an input of shape {list(shape)} raised {type(exc2).__name__}: {msg}",
                    hint="check --input (channels first, no batch)",
                ) from None
            path = "recorded"
    return _to_graph(builder, out, name, source, path, fx_error, shape)


def _to_graph(
    builder: _Builder, out: Any, name: str, source: str, path: str, fx_error: str | None, shape: tuple[int, ...]
) -> Graph:
    outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
    if not outs or id(outs[0]) not in builder.tensors or builder.tensors[id(outs[0])] == INPUT:
        raise SpecError("unsupported-model", f"`{name}`'s output is not computed from its input by any layer")
    output = builder.tensors[id(outs[0])]
    by_name = {p.name: p for p in builder.nodes}
    keep: set[str] = set()
    todo = [output]
    while todo:  # only what reaches the output (dead branches of recorded control flow go)
        n = todo.pop()
        if n in keep or n == INPUT:
            continue
        keep.add(n)
        todo.extend(by_name[n].inputs)
    pend = [p for p in builder.nodes if p.name in keep]
    nodes = [Node(p.name, p.layer, p.inputs, shares=p.shares if p.shares in keep else None) for p in pend]
    unsupported: dict[str, int] = {}
    for p in pend:
        if isinstance(p.layer, Unsupported):
            unsupported[p.layer.op] = unsupported.get(p.layer.op, 0) + 1
    counted = {i for i, owner in builder.owner.items() if owner in keep}
    unused = sum(p.numel() for i, p in builder.params.items() if i not in counted)
    extras: dict[str, Any] = {
        "capture": path,
        "unsupported": unsupported,
        "measured_shapes": {p.name: list(p.shape) for p in pend},
        "torch_params": sum(p.numel() for p in builder.params.values()),
        "unused_params": unused,
        "module_classes": {  # for export: groups of one class are candidates for one block
            n: type(m).__name__ for n, m in builder.model.named_modules() if n and not is_leaf(m)
        },
    }
    if fx_error:
        extras["fx_error"] = fx_error
    return Graph.build(name, shape[1:], nodes, output, source=source, extras=extras)


# -- verify: analytic figures against one real forward pass -----------------------------------


@dataclass
class Check:
    what: str
    analytic: Any
    torch: Any
    ok: bool
    layer: str | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.what, "analytic": self.analytic, "torch": self.torch, "ok": self.ok}
        if self.layer is not None:
            out["layer"] = self.layer
        if self.note:
            out["note"] = self.note
        return out


def _analytic(graph: Graph, batch: int) -> tuple[dict[str, Shape], int, int]:
    """What the analyzers report — the figures a user sees — to hold against torch."""
    from cnnscope.analyze.base import analyze

    report = analyze(graph, ["params", "compute"], batch=batch)
    shapes = {row["name"]: tuple(row["output_shape"]) for row in report.rows}
    return shapes, int(report.totals["params"]), int(report.totals["macs"])


def verify(
    source: str, input_shape: tuple[int, ...] | None = None, kwargs: str | None = None, batch: int = 1
) -> tuple[Graph, list[Check]]:
    """Every analytic figure of ``source`` next to what torch measures: shapes per layer,
    parameters, MACs (``FlopCounterMode`` total / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    from cnnscope.spec.sources import is_module_source, load

    measured: dict[str, tuple[int, ...]] = {}
    notes = ""
    if is_module_source(source) and not Path(source).is_file():
        model, shape = resolve_model(source, input_shape, kwargs)
        graph = capture(model, shape, name=source.rsplit(":", 1)[-1], source=source, measure="real", batch=batch)
        measured = {k: tuple(v) for k, v in graph.extras["measured_shapes"].items()}  # torch's, at `batch`
        torch_params = sum(p.numel() for p in model.parameters())
        unused = int(graph.extras.get("unused_params", 0))
        if unused:
            notes = f"{unused:,} parameters are not used by the forward pass"
        with preserved(model), torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(torch.randn(batch, *shape))
    else:
        from cnnscope.profile.build import build_module

        graph = load(source, input_shape)
        gm = build_module(graph, batch)
        with torch.no_grad(), FlopCounterMode(display=False) as fc:
            outs = gm(torch.randn(batch, *graph.input_shape), return_all=True)
        measured = {k: tuple(int(d) for d in v.shape) for k, v in outs.items()}
        seen: set[int] = set()
        torch_params = 0
        for node in graph.nodes:
            if node.shares is None:
                for p in gm.layer(node.name).parameters():
                    if id(p) not in seen:
                        seen.add(id(p))
                        torch_params += p.numel()
        unused = 0
    shapes, params, macs = _analytic(graph, batch)
    checks: list[Check] = []
    for node in graph.nodes:
        a, t = list(shapes[node.name]), list(measured.get(node.name, ()))
        checks.append(Check("shape", a, t, a == t, node.name))
    ok_params = params == torch_params or params + unused == torch_params
    checks.append(Check("params", params, torch_params, ok_params, note=notes))
    torch_macs = fc.get_total_flops() // 2
    opaque = [n.name for n in graph.nodes if n.layer.opaque]
    note = f"{len(opaque)} unsupported layer(s): MACs are incomplete" if opaque else ""
    checks.append(Check("macs", macs, torch_macs, macs == torch_macs, note=note))
    return graph, checks
