"""``torchvision:name`` and ``timm:name``: the library's builder run without weights (and
with torch's generator seeded), and the input size torchvision publishes each model at."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from cnnscope.errors import SourceError, did_you_mean
from cnnscope.frontends.torch.usercode import _call


def _torchvision_shape(name: str, model: nn.Module) -> tuple[int, ...]:
    """The input a torchvision builder is published at: its own ``image_size`` (ViT), else its
    weights' crop size (299 for Inception-v3, 256 for Swin-v2, 600 for EfficientNet-B7), with 16
    frames for the video models; 224 where the weights say nothing (detection, optical flow)."""
    import torchvision.models as tvm

    size: tuple[int, int] = (224, 224)
    own = getattr(model, "image_size", None)
    if isinstance(own, int) and own > 0:
        size = (own, own)
    else:
        try:
            crop = tvm.get_model_weights(name).DEFAULT.transforms.keywords.get("crop_size")
        except (AttributeError, ValueError, KeyError):
            crop = None
        if isinstance(crop, int):
            size = (crop, crop)
        elif isinstance(crop, (tuple, list)) and len(crop) == 2:
            size = (int(crop[0]), int(crop[1]))
    if tvm.get_model_builder(name).__module__.startswith("torchvision.models.video"):
        return (3, 16, *size)
    return (3, *size)


def _seeded(build: Callable[[], Any]) -> Callable[[], Any]:
    """The builder run with torch's generator seeded (and the caller's state restored after):
    the same source always gives the same random weights, so a data-dependent path (detection's
    proposals) is the same every run."""
    import torch

    def run() -> Any:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return build()

    return run


def _library(pkg: str, module: str, name: str) -> Any:
    """The module of ``pkg`` that lists and builds its models, once it has a model ``name``."""
    try:
        lib = importlib.import_module(module)
    except ImportError:
        raise SourceError(
            "missing-extra",
            f"`{pkg}:` sources need {pkg}, which is not installed",
            hint=f"pip install 'cnnscope[{pkg}]' (or pip install {pkg})",
        ) from None
    names = list(lib.list_models())
    if name not in names:
        raise SourceError("source-not-found", f"{pkg} has no model `{name}`{did_you_mean(name, names)}")
    return lib


def _from_torchvision(name: str, kw: dict[str, Any]) -> nn.Module:
    tvm = _library("torchvision", "torchvision.models", name)
    kw.setdefault("weights", None)  # architecture only: never download or unpickle weights
    builder = tvm.get_model_builder(name)
    try:
        accepts: Any = inspect.signature(builder).parameters
    except (TypeError, ValueError):  # pragma: no cover - every torchvision builder has a signature
        accepts = {}
    if "weights_backbone" in accepts:  # detection and segmentation builders load a backbone too
        kw.setdefault("weights_backbone", None)
    return _call(_seeded(lambda: tvm.get_model(name, **kw)), f"torchvision:{name}", builder, kw)


def _from_timm(name: str, kw: dict[str, Any]) -> nn.Module:
    timm = _library("timm", "timm", name)
    kw.setdefault("pretrained", False)
    return _call(_seeded(lambda: timm.create_model(name, **kw)), f"timm:{name}")
