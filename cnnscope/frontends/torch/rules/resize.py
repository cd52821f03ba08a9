"""Resizing and padding: ``F.interpolate`` / ``F.upsample*`` and ``F.pad``."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_make, try_map
from cnnscope.layers.base import registry

_INTERP = ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")


@rule("interpolate", "upsample", "upsample_nearest", "upsample_bilinear", sig=_INTERP)
def interpolate(call: Call) -> Mapped | None:
    b = call.args
    if b.get("antialias"):
        return None
    name = call.op
    mode = str(b.get("mode") or ("bilinear" if name == "upsample_bilinear" else "nearest"))
    corners = True if name == "upsample_bilinear" else b.get("align_corners")
    raw = {"mode": mode, "align_corners": corners}
    for k in ("size", "scale_factor"):
        if b.get(k) is not None:
            raw[k] = b[k]
    return Mapped([make("upsample", **raw)])


@rule("pad", sig=("input", "pad", "mode", "value"))
def pad(call: Call) -> Mapped | None:
    b = call.args
    if len(call.data) != 1:
        return None
    pads = [int(p) for p in b["pad"]]  # amounts computed from the input's size are numbers by now
    nd = call.rank - 2
    mode = str(b.get("mode") or "constant")
    value = float(b.get("value") or 0.0)
    family = {"constant": "zeropad", "reflect": "reflectionpad", "replicate": "replicationpad"}.get(mode)
    spatial = family is not None and 1 <= nd <= 3 and not len(pads) % 2 and len(pads) <= 2 * nd
    fits = spatial and not value and (mode == "constant" or len(pads) == 2 * nd)
    if fits and f"{family}{nd}d" in registry():
        layer = try_make(f"{family}{nd}d", padding=pads + [0] * (2 * nd - len(pads)))
        if layer is not None:
            return Mapped([layer])
    # channels-last maps, the channels, a fill value (-inf: a max pool's "same" padding), a
    # circular pad, or a mode over some of the spatial dims: the general pad, in any mode
    raw = {"pad": pads, "mode": mode} | ({"value": value} if value else {})
    return try_map("pad", **raw)
