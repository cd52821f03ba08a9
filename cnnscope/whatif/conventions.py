"""The counting conventions of other tools, in cnnscope's categories (docs/conventions.md).

A :class:`Convention` says how many ops each kind of arithmetic contributes: ``per_mac`` for a
conv / linear multiply-add, whether bias adds count, what a batch norm costs per element
(or its parameter count, or nothing because it is folded into the convolution before it),
what an activation, a pooling layer and a merge cost. :data:`TOOLS` names the conventions of
the tools people quote; each entry was measured by running that tool (versions in the
docstring of each entry and in docs/conventions.md) and is re-checked by
tests/test_reconcile.py where the tool is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

BIAS_CHOICES = ("none", "all", "conv")
BN_CHOICES = ("0", "1", "2", "4", "params", "folded")
POOL_CHOICES = ("none", "avg-in", "avg-in+out", "cnnscope", "all-in", "all-in-x2")
POOL_TEXT = {
    "none": "not counted",
    "avg-in": "average pools: 1 per input element",
    "avg-in+out": "average pools: 1 per input + 1 per output element",
    "cnnscope": "cnnscope's rules (max: k−1 per output, avg: k per output)",
    "all-in": "every pool: 1 per input element",
    "all-in-x2": "every pool: 2 per input element",
}


@dataclass(frozen=True)
class Convention:
    """How a counting tool counts: ops per MAC, and which of bias, norms, activations, pooling, merges."""

    per_mac: int = 1  # ops per multiply-accumulate of conv / linear
    bias: str = "none"  # bias adds, 1 per output element: "none", "all" or "conv" (conv layers only)
    bn: str = "0"  # eval batch norm: ops per element, "params" (its parameter count), "folded"
    act: int = 0  # activations: 0, 1 or 2 × cnnscope's count (1 per element; softmax 3)
    pool: str = "none"  # see POOL_CHOICES
    merge: bool = False  # residual adds and gate multiplies
    norms: str = "cnnscope"  # other normalizations, when norms count: cnnscope's rules or fvcore's (5 / 4 per element)

    def describe(self) -> str:
        bn = {"0": "BN 0", "params": "BN: its parameter count", "folded": "BN folded into the conv"}.get(
            self.bn, f"BN {self.bn}/element"
        )
        return ", ".join(
            [
                f"{self.per_mac} per MAC",
                {"none": "no bias", "all": "bias", "conv": "conv bias only"}[self.bias],
                bn,
                f"activations {self.act}/element" if self.act else "no activations",
                f"pooling: {POOL_TEXT[self.pool]}",
                "merges" if self.merge else "no merges",
            ]
            + (
                ["layer/group/instance norm as fvcore (5 per element with affine, 4 without)"]
                if self.norms == "fvcore"
                else []
            )
        )

    def extras(self) -> int:
        """How far from the plain MAC count: the number of extra categories counted."""
        return (
            int(self.per_mac != 1)
            + int(self.bias != "none")
            + int(self.bn != "0")
            + int(bool(self.act))
            + int(self.pool != "none")
            + int(self.merge)
        )


def space(macs_only: bool = False) -> list[Convention]:
    """Every combination the search tries (``macs_only``: one op per MAC)."""
    return [
        Convention(pm, b, bn, a, p, m, nm)
        for pm, b, bn, a, p, m, nm in product(
            (1,) if macs_only else (1, 2),
            BIAS_CHOICES,
            BN_CHOICES,
            (0, 1, 2),
            POOL_CHOICES,
            (False, True),
            ("cnnscope", "fvcore"),
        )
        if nm == "cnnscope" or bn not in ("0", "folded")  # the norm rule matters only when norms count
    ]


PAPER = Convention()
TOOLS: dict[str, tuple[Convention, ...]] = {
    # torchvision meta["_ops"] / "GFLOPS"; the ResNet paper's multiply-adds; DeepSpeed's `macs`
    "torchvision GFLOPS / the paper / DeepSpeed macs": (PAPER,),
    # torch.utils.flop_counter: conv, mm, addmm, bmm; 2 per MAC, nothing else
    "FlopCounterMode": (Convention(per_mac=2),),
    # fvcore 0.1.5 FlopCountAnalysis.total(): eval batch norm 2/element (affine), layer / group /
    # instance norm 5/element (4 without affine), adaptive avg pool 1 per input element; relu,
    # max pool, adds and multiplies have no handle
    "fvcore": (Convention(bn="2", pool="avg-in", norms="fvcore"),),
    # ptflops 0.7.5, pytorch backend: bias, BN 2/element, and its module hooks *and* functional
    # patches both count nn.ReLU and pooling modules (so twice); `x + y` is not counted
    # (an activation without a functional patch, such as ReLU6, counts once: act=1)
    "ptflops (pytorch backend)": (
        Convention(bias="all", bn="2", act=2, pool="all-in-x2"),
        Convention(bias="all", bn="2", act=1, pool="all-in-x2"),
    ),
    # ptflops 0.7.5, aten backend: aten.convolution and mm/addmm only, bias adds included
    "ptflops (aten backend)": (Convention(bias="all"),),
    # ultralytics-thop 2.2.3 profile(): BN 4/element (affine), adaptive avg pool k adds + 1 divide
    # per output; relu and max pool zero; linear and conv without bias adds
    "thop": (Convention(bn="4", pool="avg-in+out"),),
    # torchinfo 1.8.0 total_mult_adds: bias adds, and each BN adds its parameter count
    "torchinfo": (Convention(bias="all", bn="params"),),
    # DeepSpeed 0.19 get_model_profile flops: 2 per MAC, conv bias (not linear's), BN 2/element,
    # activations 1, pools 1 per input element
    # (activations it does not patch, such as ReLU6 / hardtanh, count 0)
    "DeepSpeed flops": (
        Convention(per_mac=2, bias="conv", bn="2", act=1, pool="all-in"),
        Convention(per_mac=2, bias="conv", bn="2", act=0, pool="all-in"),
    ),
}


def tools_for(c: Convention) -> list[str]:
    return [name for name, ts in TOOLS.items() if c in ts]
