"""torch modules for the nms, roialign and multiscaleroialign layer types (imported lazily).

torchvision's kernels when torchvision is installed; otherwise the same algorithms written in
plain torch (slower, for small inputs and tests). Like every built module they keep the graph's
shapes on any input: the boxes kept by ``nms`` are cut or zero-padded to the count measured at
capture, and a box's image index is clamped to the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from cnnscope.layers._compare_torch import floating
from cnnscope.layers._index_torch import fit


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """The indices of the boxes kept, by decreasing score (torchvision.ops.nms)."""
    try:
        from torchvision.ops import nms as tv_nms

        return tv_nms(boxes, scores, iou_threshold)  # type: ignore[no-any-return]
    except ImportError:
        pass
    x1, y1, x2, y2 = boxes.unbind(1)
    area = (x2 - x1) * (y2 - y1)
    gone = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in scores.argsort(descending=True).tolist():
        if gone[i]:
            continue
        keep.append(i)
        w = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0)
        h = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)).clamp(min=0)
        inter = w * h
        gone |= inter / (area[i] + area - inter) > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def _bilinear(feat: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``feat`` (C, H, W) sampled at every (y, x) pair of broadcast grids, as torchvision's RoI
    Align samples: 0 outside [-1, size], the border clamped."""
    _c, h, w = feat.shape
    outside = (y < -1) | (y > h) | (x < -1) | (x > w)
    y, x = y.clamp(min=0), x.clamp(min=0)
    y0, x0 = y.floor().long().clamp(max=h - 1), x.floor().long().clamp(max=w - 1)
    y1, x1 = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
    y = torch.where(y0 >= h - 1, y0.to(y.dtype), y)
    x = torch.where(x0 >= w - 1, x0.to(x.dtype), x)
    ly, lx = y - y0, x - x0
    hy, hx = 1 - ly, 1 - lx
    out = (
        feat[:, y0, x0] * (hy * hx)
        + feat[:, y0, x1] * (hy * lx)
        + feat[:, y1, x0] * (ly * hx)
        + feat[:, y1, x1] * (ly * lx)
    )
    return out * (~outside)


def _roi_align_plain(
    feat: torch.Tensor, rois: torch.Tensor, size: Sequence[int], scale: float, ratio: int, aligned: bool
) -> torch.Tensor:
    ph, pw = size
    out = feat.new_zeros((len(rois), feat.shape[1], ph, pw))
    off = 0.5 if aligned else 0.0
    for r, roi in enumerate(rois.tolist()):
        b = int(roi[0])
        x1, y1, x2, y2 = (v * scale - off for v in roi[1:])
        rw, rh = x2 - x1, y2 - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        gh = ratio if ratio > 0 else math.ceil(rh / ph)
        gw = ratio if ratio > 0 else math.ceil(rw / pw)
        if gh <= 0 or gw <= 0:
            continue
        iy = (torch.arange(gh, dtype=feat.dtype) + 0.5) / gh
        ix = (torch.arange(gw, dtype=feat.dtype) + 0.5) / gw
        ys = y1 + (torch.arange(ph, dtype=feat.dtype)[:, None] + iy[None, :]) * (rh / ph)  # (ph, gh)
        xs = x1 + (torch.arange(pw, dtype=feat.dtype)[:, None] + ix[None, :]) * (rw / pw)  # (pw, gw)
        samples = _bilinear(feat[b], ys[:, :, None, None], xs[None, None, :, :])  # (C, ph, gh, pw, gw)
        out[r] = samples.mean(dim=(2, 4))
    return out


def roi_align(
    feat: torch.Tensor, rois: torch.Tensor, size: Sequence[int], scale: float, ratio: int, aligned: bool
) -> torch.Tensor:
    """torchvision.ops.roi_align on (K, 5) rois, their image index clamped to the batch. A built
    graph's boxes may hold anything (its constants are zeros): non-finite corners read as 0, and
    corners are kept within twice the map's extent (a real detector clips its boxes to the image
    first), so the adaptive sampling stays bounded."""
    rois = torch.nan_to_num(rois, nan=0.0, posinf=0.0, neginf=0.0)
    extent = 2.0 * max(feat.shape[-2:]) / scale if scale > 0 else 0.0
    corners = rois[:, 1:].clamp(-extent, extent)
    rois = torch.cat([rois[:, :1].clamp(0, feat.shape[0] - 1).floor(), corners], 1)
    try:
        from torchvision.ops import roi_align as tv_roi_align

        return tv_roi_align(feat, rois, list(size), scale, ratio, aligned)  # type: ignore[no-any-return]
    except ImportError:
        return _roi_align_plain(feat, rois, size, scale, ratio, aligned)


class Nms(nn.Module):
    def __init__(self, iou_threshold: float, length: int) -> None:
        super().__init__()
        self.iou_threshold, self.length = iou_threshold, length

    def forward(self, boxes: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if boxes.dim() != 2 or boxes.shape[1] != 4 or tuple(scores.shape) != (boxes.shape[0],):
            raise ValueError(f"nms takes boxes (K, 4) and scores (K,), got {list(boxes.shape)}, {list(scores.shape)}")
        if self.length > boxes.shape[0]:
            raise ValueError(f"nms keeps at most its {boxes.shape[0]} boxes, not {self.length}")
        return floating(fit(nms(boxes, scores, self.iou_threshold), self.length), boxes)

    def extra_repr(self) -> str:
        return f"iou_threshold={self.iou_threshold}, length={self.length}"


class RoiAlign(nn.Module):
    def __init__(self, output_size: Sequence[int], spatial_scale: float, sampling_ratio: int, aligned: bool) -> None:
        super().__init__()
        self.output_size, self.spatial_scale = tuple(output_size), spatial_scale
        self.sampling_ratio, self.aligned = sampling_ratio, aligned

    def forward(self, feat: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        if feat.dim() != 4 or rois.dim() != 2 or rois.shape[1] != 5:
            raise ValueError(
                f"RoI Align takes (N, C, H, W) and (K, 5) rois, got {list(feat.shape)}, {list(rois.shape)}"
            )
        return roi_align(feat, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)


class MultiScaleRoiAlign(nn.Module):
    """torchvision's MultiScaleRoIAlign: each box pooled from the level its size picks (FPN)."""

    def __init__(
        self, output_size: Sequence[int], sampling_ratio: int, scales: Sequence[float], canonical_scale: int,
        canonical_level: int,
    ) -> None:  # fmt: skip
        super().__init__()
        self.output_size, self.sampling_ratio, self.scales = tuple(output_size), sampling_ratio, tuple(scales)
        self.canonical_scale, self.canonical_level = canonical_scale, canonical_level

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        n = len(self.scales)
        feats, boxes = xs[:n], xs[n:]
        if not boxes or any(f.dim() != 4 or f.shape[:2] != feats[0].shape[:2] for f in feats):
            raise ValueError("MultiScaleRoIAlign takes (N, C, H, W) maps of one N and C, then the boxes")
        if any(b.dim() != 2 or b.shape[1] != 4 for b in boxes):
            raise ValueError("boxes are (K, 4) per image")
        rois = torch.cat([torch.cat([torch.full_like(b[:, :1], i), b], 1) for i, b in enumerate(boxes)])
        if n == 1:
            return roi_align(feats[0], rois, self.output_size, self.scales[0], self.sampling_ratio, False)
        lo, hi = -math.log2(self.scales[0]), -math.log2(self.scales[-1])
        b = rois[:, 1:]
        side = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).sqrt()
        target = torch.floor(self.canonical_level + torch.log2(side / self.canonical_scale) + 1e-6)
        level = (target.nan_to_num(nan=lo).clamp(lo, hi) - lo).long()
        level[target.isnan()] = -1  # a box with a negative area has no level: zeros, as torchvision's
        out = feats[0].new_zeros((len(rois), feats[0].shape[1], *self.output_size))
        for k in range(n):
            idx = torch.nonzero(level == k).flatten()
            if len(idx):
                out[idx] = roi_align(feats[k], rois[idx], self.output_size, self.scales[k], self.sampling_ratio, False)
        return out
