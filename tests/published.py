"""Figures from outside cnnscope, the oracles of the zoo tests and of the golden files.

- torchvision's published ``num_params`` and ``GFLOPS`` (one multiply-add counted once,
  conv/linear/matmul only) and eval crop, from ../shared/reference/torchvision_models.json;
- hand arithmetic, written out term by term, for the specs torchvision has no builder for.

No value here comes from cnnscope's own output.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "torchvision_models.json"


@cache
def torchvision_reference() -> dict[str, dict[str, Any]]:
    """Default-weights models by name: params, gflops, crop (empty when the file is absent)."""
    if not REFERENCE.is_file():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for m in json.loads(REFERENCE.read_text()):
        if m.get("is_default"):
            out[m["model"]] = {"params": m["num_params"], "gflops": m["gflops"], "crop": m["eval_crop_size"]}
    return out


# Specs torchvision has no builder for: figures worked out by hand (no bias in MACs).
LENET5_PARAMS = (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16 + (400 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10
LENET5_MACS = 28 * 28 * 6 * (5 * 5 * 1) + 10 * 10 * 16 * (5 * 5 * 6) + 400 * 120 + 120 * 84 + 84 * 10
# CS231n: conv 32×32×10 from 5×5×3 filters, pool to 16×16×10, fc to 10
CS231N_CONV_PARAMS = (5 * 5 * 3 + 1) * 10 + (16 * 16 * 10 + 1) * 10
CS231N_CONV_MACS = 32 * 32 * 10 * (5 * 5 * 3) + 16 * 16 * 10 * 10
# CS231n stride: one 3×3 filter on 7×7 at strides 1, 2, 3 → 5×5, 3×3, 2×2 outputs
CS231N_STRIDE_PARAMS = 3 * (3 * 3 + 1)
CS231N_STRIDE_MACS = (5 * 5 + 3 * 3 + 2 * 2) * 3 * 3
# AlexNet at 227 (CS231n): conv 55²·96 (11²·3), 27²·256 (5²·96), 13²·384 (3²·256),
# 13²·384 (3²·384), 13²·256 (3²·384); fc 9216→4096→4096→1000
ALEXNET227_PARAMS = (
    (11 * 11 * 3 + 1) * 96
    + (5 * 5 * 96 + 1) * 256
    + (3 * 3 * 256 + 1) * 384
    + (3 * 3 * 384 + 1) * 384
    + (3 * 3 * 384 + 1) * 256
    + (9216 + 1) * 4096
    + (4096 + 1) * 4096
    + (4096 + 1) * 1000
)
ALEXNET227_MACS = (
    55 * 55 * 96 * 11 * 11 * 3
    + 27 * 27 * 256 * 5 * 5 * 96
    + 13 * 13 * 384 * 3 * 3 * 256
    + 13 * 13 * 384 * 3 * 3 * 384
    + 13 * 13 * 256 * 3 * 3 * 384
    + 9216 * 4096
    + 4096 * 4096
    + 4096 * 1000
)

BY_HAND: dict[str, dict[str, Any]] = {
    "lenet5": {"params": LENET5_PARAMS, "macs": LENET5_MACS, "input": (1, 32, 32), "classes": 10},
    "cs231n-conv": {"params": CS231N_CONV_PARAMS, "macs": CS231N_CONV_MACS, "input": (3, 32, 32), "classes": 10},
    "cs231n-stride": {"params": CS231N_STRIDE_PARAMS, "macs": CS231N_STRIDE_MACS, "input": (1, 7, 7), "classes": 38},
    "alexnet-227": {"params": ALEXNET227_PARAMS, "macs": ALEXNET227_MACS, "input": (3, 227, 227), "classes": 1000},
}
IMAGENET_CLASSES = 1000  # every torchvision classification model's output
RESNET18_PARAMS = 11_689_512  # torchvision's published ResNet-18 count, for a checkout without ../shared


def expected_params(name: str) -> int | None:
    """The published or hand-worked parameter count of built-in spec ``name``, if known."""
    if name in BY_HAND:
        return int(BY_HAND[name]["params"])
    tv = torchvision_reference()
    if name in tv:
        return int(tv[name]["params"])
    return RESNET18_PARAMS if name == "resnet18" else None


def expected_input(name: str) -> tuple[int, ...] | None:
    """The input the spec's source states, without the batch (None when unknown here)."""
    if name in BY_HAND:
        return tuple(BY_HAND[name]["input"])
    tv = torchvision_reference()
    return (3, tv[name]["crop"], tv[name]["crop"]) if name in tv else None


def expected_classes(name: str) -> int:
    """The length of the spec's output vector: its classes (38 outputs for cs231n-stride)."""
    return int(BY_HAND[name]["classes"]) if name in BY_HAND else IMAGENET_CLASSES
