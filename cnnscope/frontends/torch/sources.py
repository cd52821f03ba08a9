"""Module sources -> an ``nn.Module`` and its input shape.

``pkg.mod:attr``, ``path/file.py:attr`` (a module instance, a class, or a factory; ``kwargs``
is a JSON object of its arguments), ``torchvision:name`` and ``timm:name``. Importing user
code runs it: ``usercode.py`` runs it (and locates what it raises); ``libraries.py`` builds
the torchvision and timm models.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from torch import nn

from cnnscope.errors import SourceError, clip
from cnnscope.frontends.torch.libraries import _from_timm, _from_torchvision, _torchvision_shape
from cnnscope.frontends.torch.usercode import _import_attr, _instantiate, _user_failure

DEFAULT_SHAPES = {"torchvision": (3, 224, 224)}


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
    except (ValueError, RecursionError, MemoryError) as exc:  # a 5,000-digit number, 100,000 brackets
        raise SourceError(
            "bad-kwargs", f"--kwargs cannot be read: {clip(str(exc), 200) or type(exc).__name__}"
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
    refuse_uncapturable(model, source)
    if input_shape is None and prefix == "torchvision":
        input_shape = _torchvision_shape(attr, model)
    shape = input_shape or _declared_shape(model, prefix, source)
    return model, tuple(shape)


def refuse_uncapturable(model: nn.Module, source: str) -> None:
    """Lazy modules (no weights yet) and TorchScript modules (no Python forward) cannot be
    captured; say so rather than count them wrong."""
    import torch

    try:
        modules = list(model.named_modules())
    except Exception as exc:  # a broken module tree is the source's problem
        raise SourceError(
            "not-a-module", f"`{source}`: listing its submodules raised {type(exc).__name__}: {exc}"
        ) from None
    for name, m in modules:
        where = f"`{name}` ({type(m).__name__})" if name else f"`{source}` ({type(m).__name__})"
        if isinstance(m, torch.jit.ScriptModule):
            raise SourceError(
                "torchscript-module",
                f"TorchScript modules cannot be captured: pass the Python module ({where} is scripted or traced)",
                hint="point cnnscope at the nn.Module before torch.jit.script / torch.jit.trace",
            )
        if isinstance(m, nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params():  # type: ignore[misc]
            raise SourceError(
                "lazy-module",
                f"lazy modules are not supported: run one forward pass first ({where} has no weights yet)",
                hint="call the model once on an example input in the factory, or use the non-lazy class",
            )


def _declared_shape(model: nn.Module, prefix: str, source: str) -> tuple[int, ...]:
    try:
        declared = getattr(model, "input_shape", None)
    except BaseException as exc:  # a property is user code too
        raise _user_failure(exc, f"reading `{source}`'s `input_shape`") from None
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
        dims = tuple(int(d) for d in itertools.islice(declared, 5))  # an endless iterable stops at 5
    except (TypeError, ValueError, OverflowError):
        raise SourceError(
            "missing-input", f"`{source}`'s `input_shape` is not a list of sizes: {clip(repr(declared), 200)}"
        ) from None
    if not dims or len(dims) > 4 or any(d < 1 or d > 10**18 for d in dims):
        raise SourceError(
            "missing-input",
            f"`{source}`'s `input_shape` {clip(str(list(dims)), 200)} is not 1 to 4 positive sizes (at most 10^18)",
        )
    return dims
