"""A detector's post-processing and pooling: torchvision's ``nms`` and ``roi_align`` ops,
``torchvision.ops.MultiScaleRoIAlign`` kept whole (one ``multiscaleroialign`` node instead of
its level mapping, per-level RoI Aligns and scatter), ``torch.unique``, ``nonzero`` /
``argwhere``. A count the data decides (boxes kept, distinct values, true elements) is the
one measured at capture: the layer holds it in ``length`` and says so."""

from __future__ import annotations

import math

from cnnscope.frontends.torch.rules import Call, Mapped, module_rule, rule, try_make
from cnnscope.frontends.torch.rules.compare import positions
from cnnscope.layers.base import Layer


@rule("nms", sig=("boxes", "scores", "iou_threshold"))
def nms(call: Call) -> Mapped | None:
    b = call.args
    at = positions(call, [b.get("boxes"), b.get("scores")])
    layer = try_make("nms", iou_threshold=float(b["iou_threshold"]), length=call.out[0] if call.out else 0)
    return None if at is None or layer is None else Mapped([layer], inputs=at)


_ROI = ("input", "rois", "spatial_scale", "pooled_height", "pooled_width", "sampling_ratio", "aligned")


@rule("roi_align", sig=_ROI)
def roi_align(call: Call) -> Mapped | None:
    b = call.args
    at = positions(call, [b.get("input"), b.get("rois")])
    layer = try_make(
        "roialign",
        output_size=[int(b["pooled_height"]), int(b["pooled_width"])],
        spatial_scale=float(b["spatial_scale"]),
        sampling_ratio=int(b["sampling_ratio"]),
        aligned=bool(b.get("aligned", False)),
    )
    return None if at is None or layer is None else Mapped([layer], inputs=at)


@module_rule("MultiScaleRoIAlign", sig=("x", "boxes", "image_shapes"))
def multiscale_roi_align(call: Call) -> Mapped | None:
    m, x, boxes = call.args["module"], call.args.get("x"), call.args.get("boxes")
    if not isinstance(x, dict) or not isinstance(boxes, (list, tuple)) or not m.scales:
        return None
    feats = [v for k, v in x.items() if k in m.featmap_names]  # torchvision's _filter_input order
    at = positions(call, [*feats, *boxes])
    if at is None or len(feats) != len(m.scales):
        return None
    layer = try_make(
        "multiscaleroialign",
        output_size=list(m.output_size),
        sampling_ratio=int(m.sampling_ratio),
        scales=[float(s) for s in m.scales],
        canonical_scale=int(m.canonical_scale),
        canonical_level=int(m.canonical_level),
    )
    if layer is None or any(not math.isfinite(s) for s in m.scales):
        return None
    return Mapped([layer], inputs=at)


@rule("unique", sig=("input", "sorted", "return_inverse", "return_counts", "dim"))
def unique(call: Call) -> Mapped | None:
    b = call.args
    if b.get("dim") is not None or not call.is_data(b.get("input")):
        return None
    wanted = (
        ["values"] + (["inverse"] if b.get("return_inverse") else []) + (["counts"] if b.get("return_counts") else [])
    )
    if len(wanted) != len(call.outs):
        return None
    n = call.outs[0][0] if call.outs[0] else 0
    layers = [try_make("unique", length=n, output=o, sorted=bool(b.get("sorted", True))) for o in wanted]
    if any(layer is None for layer in layers):
        return None
    return Mapped([layer for layer in layers if isinstance(layer, Layer)], inputs=[0], per_output=len(layers) > 1)


@rule("nonzero", "argwhere", sig=("input",))
def nonzero(call: Call) -> Mapped | None:
    if not call.is_data(call.args.get("input")) or not call.outs:
        return None
    n = call.outs[0][0] if call.outs[0] else 0
    if call.args.get("as_tuple"):
        layers = [try_make("nonzero", length=n, column=k) for k in range(len(call.outs))]
        if any(layer is None for layer in layers):
            return None
        return Mapped([layer for layer in layers if isinstance(layer, Layer)], inputs=[0], per_output=True)
    layer = try_make("nonzero", length=n)
    return None if layer is None else Mapped([layer], inputs=[0])
