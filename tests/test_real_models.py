"""Real models, exactly: cnnscope on torchvision and timm builders against the torch oracle.

For each model: cnnscope's ``params`` total equals the unique ``numel`` of ``model.parameters()``
(parameters unused in eval — GoogLeNet's and Inception's aux heads — still count), its ``macs``
are within 0.5 % of ``FlopCounterMode`` / 2 of one eval forward at the same input size (with the
CPU sdpa kernel counted and the MultiheadAttention fast path off: ``tests/torch_oracle.py``), and
the graph is complete (no unsupported or opaque node). Random weights only: nothing is downloaded.

Small inputs where the architecture allows them keep the file to a few minutes on 2 cores;
transformers with fixed position tables run at their own size. ``bench/coverage.py`` runs the
same check over the whole zoo. Runs in CI's real-model tier (``pytest -m "torchvision or timm"``);
skipped where torchvision / timm is not installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

TOLERANCE = 0.005


@dataclass(frozen=True)
class Case:
    lib: str  # torchvision | timm
    name: str
    shape: tuple[int, ...]  # one input, no batch
    kind: str = "image"  # image | detection | flow
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def source(self) -> str:
        return f"{self.lib}:{self.name}"

    def build(self) -> Any:
        import torch

        torch.manual_seed(0)
        if self.lib == "timm":
            import timm

            return timm.create_model(self.name, pretrained=False, **self.kwargs).eval()
        import torchvision.models as tvm

        return tvm.get_model(self.name, weights=None, **self.kwargs).eval()

    def args(self) -> tuple[Any, ...]:
        import torch

        g = torch.Generator().manual_seed(0)
        x = torch.randn((1, *self.shape), generator=g)
        if self.kind == "detection":
            return ([x[0]],)  # a list of images in eval
        if self.kind == "flow":
            return (x, torch.randn((1, *self.shape), generator=g))  # RAFT: two frames
        return (x,)


NO_BACKBONE = {"weights_backbone": None}
S128 = (3, 128, 128)
S224 = (3, 224, 224)

TORCHVISION = [
    Case("torchvision", "resnet18", S128),
    Case("torchvision", "mobilenet_v3_small", S128),
    Case("torchvision", "shufflenet_v2_x0_5", S128),
    Case("torchvision", "squeezenet1_1", S128),
    Case("torchvision", "googlenet", S128),  # aux heads: unused in eval, counted in params
    Case("torchvision", "inception_v3", (3, 299, 299)),
    Case("torchvision", "efficientnet_b0", S128),
    Case("torchvision", "regnet_y_400mf", S128),
    Case("torchvision", "convnext_tiny", S128),
    Case("torchvision", "densenet121", S128),
    Case("torchvision", "mnasnet0_5", S128),
    Case("torchvision", "vit_b_16", S224),  # fixed position table
    Case("torchvision", "swin_t", S224),
    Case("torchvision", "maxvit_t", S224),  # fixed partition sizes
    Case("torchvision", "r3d_18", (3, 8, 56, 56)),
    Case("torchvision", "mvit_v2_s", (3, 16, 224, 224)),  # fixed by the builder
    Case("torchvision", "swin3d_t", (3, 8, 112, 112)),
    Case("torchvision", "lraspp_mobilenet_v3_large", S128, kwargs=NO_BACKBONE),  # dict output
    Case("torchvision", "fcn_resnet50", S128, kwargs=NO_BACKBONE),  # dict output
    Case("torchvision", "fasterrcnn_mobilenet_v3_large_320_fpn", (3, 320, 320), "detection", NO_BACKBONE),
    Case("torchvision", "raft_small", S128, "flow"),  # grid_sample
    Case("torchvision", "raft_large", S128, "flow"),  # grid_sample, F.unfold (the convex upsampling)
]

TIMM = [
    Case("timm", "resnet10t", S128),
    Case("timm", "res2net50_14w_8s", S128),
    Case("timm", "mixnet_s", S128),
    Case("timm", "skresnet18", S128),
    Case("timm", "cspresnet50", S128),
    Case("timm", "inception_next_tiny", S128),
    Case("timm", "nf_resnet26", S128),
    Case("timm", "convnext_atto", S128),
    Case("timm", "tresnet_m", S128),
    Case("timm", "bat_resnext26ts", (3, 256, 256)),  # non-local blocks: size fixed by the block size
    Case("timm", "vit_tiny_patch16_224", S224),
    Case("timm", "deit_tiny_patch16_224", S224),
    Case("timm", "efficientvit_m0", S224),
    Case("timm", "levit_128s", S224),
    # one of each family whose ops had no layer type (#13), on a small variant where one exists
    Case("timm", "halonet_h1", (3, 256, 256)),  # Tensor.unfold: the halo neighbourhoods
    Case("timm", "tnt_s_legacy_patch16_224", S224),  # nn.Unfold
    Case("timm", "volo_d1_224", S224),  # F.unfold and F.fold (outlook attention)
    Case("timm", "gcvit_xtiny", S224),  # repeat_interleave along the batch (the global query)
    Case("timm", "convnextv2_atto", S128),  # GRN: x.norm over space, torch.addcmul
    Case("timm", "nf_regnet_b0", S128),  # conv with a weight computed from parameters (ScaledStdConv2d)
    Case("timm", "vit_tiny_r_s16_p8_224", S224),  # StdConv2dSame (computed weight), MaxPool2dSame (-inf pad)
    # F.rms_norm with a computed weight, clamps by ±inf buffers: one-block variants of the 412M / 167M towers
    Case(
        "timm",
        "deepseek_vit_412m",
        (3, 112, 112),
        kwargs={"img_size": 112, "depth": 1, "embed_dim": 64, "num_heads": 2},
    ),
    Case(
        "timm",
        "gemma4_vit_167m",
        (3, 96, 96),
        kwargs={"img_size": 96, "depth": 1, "embed_dim": 64, "num_heads": 2, "head_dim": 32, "intermediate_size": 128},
    ),
]


def _params(cases: list[Case]) -> list[Any]:
    out = []
    for c in cases:
        marks = [pytest.mark.torchvision] + ([pytest.mark.timm] if c.lib == "timm" else [])
        out.append(pytest.param(c, id=c.source, marks=marks))
    return out


@pytest.mark.parametrize("case", _params(TORCHVISION + TIMM))
def test_real_model_exact(case: Case) -> None:
    pytest.importorskip("torchvision")
    if case.lib == "timm":
        pytest.importorskip("timm")
    from torch_oracle import oracle

    import cnnscope

    model = case.build()
    ref = oracle(model, case.args())
    del model

    opts = {"kwargs": json.dumps(case.kwargs)} if case.kwargs else {}
    graph = cnnscope.load(case.source, case.shape, **opts)
    totals = cnnscope.analyze(graph, batch=1).totals

    problems = []
    if totals["params"] != ref["params"]:
        problems.append(f"params {totals['params']:,} != {ref['params']:,} ({totals['params'] - ref['params']:+,})")
    if abs(totals["macs"] - ref["macs"]) > TOLERANCE * ref["macs"]:
        problems.append(f"macs {totals['macs']:,} vs oracle {ref['macs']:,} (x{totals['macs'] / ref['macs']:.4f})")
    unsupported = graph.extras.get("unsupported") or {}
    if unsupported or totals.get("incomplete"):
        problems.append(f"incomplete: ops of unknown cost {unsupported}")
    opaque = set(graph.extras.get("opaque") or {}) - OPAQUE_ALLOWED.get(case.source, set())
    if case.source in NO_OPAQUE and opaque:
        problems.append(f"opaque nodes (no layer type): {graph.extras['opaque']}")
    assert not problems, f"{case.source} at {list(case.shape)}: " + "; ".join(problems)


# every node of these has a layer type (receptive field, explain and export work); elsewhere an
# op with no rule may be an opaque node, its cost measured by the dispatcher
NO_OPAQUE = {
    "torchvision:resnet18",
    "torchvision:mobilenet_v3_small",
    "torchvision:shufflenet_v2_x0_5",
    "torchvision:squeezenet1_1",
    "torchvision:googlenet",
    "torchvision:inception_v3",
    "torchvision:efficientnet_b0",
    "torchvision:regnet_y_400mf",
    "torchvision:convnext_tiny",
    "torchvision:densenet121",
    "torchvision:mnasnet0_5",
    "torchvision:vit_b_16",
    "torchvision:r3d_18",
    "torchvision:lraspp_mobilenet_v3_large",
    "torchvision:fcn_resnet50",
    "torchvision:raft_small",
    "torchvision:raft_large",
    "timm:tresnet_m",  # its anti-aliasing conv's weight is a buffer
    "timm:nf_resnet26",
    "timm:halonet_h1",
    "timm:tnt_s_legacy_patch16_224",
    "timm:volo_d1_224",
    "timm:gcvit_xtiny",
    "timm:convnextv2_atto",
    "timm:nf_regnet_b0",
    "timm:vit_tiny_r_s16_p8_224",
    "timm:deepseek_vit_412m",
    "timm:gemma4_vit_167m",
}
# ops another change gives a layer type (VOLO's class-token max over the auxiliary head)
OPAQUE_ALLOWED = {"timm:volo_d1_224": {"max"}}


# -- building never touches the network -----------------------------------------------------------


@pytest.mark.torchvision
@pytest.mark.parametrize("name", ["lraspp_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_320_fpn"])
def test_builders_never_download(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Detection and segmentation builders default to ImageNet backbone weights: a
    ``torchvision:`` source must build the architecture only (``weights_backbone=None`` too)."""
    pytest.importorskip("torchvision")
    import socket

    import torch.hub
    import torchvision.models._api as tv_api

    import cnnscope

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access while building torchvision:{name}: {args[:1]}")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no cached checkpoint can be unpickled either
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    monkeypatch.setattr(tv_api, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    graph = cnnscope.load(f"torchvision:{name}", (3, 128, 128))
    assert graph.nodes
