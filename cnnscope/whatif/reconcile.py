"""`reconcile`: which counting conventions reproduce a quoted FLOPs / MACs / params figure.

The graph's arithmetic is split once per input size into the parts conventions disagree on
(:class:`Parts`); a convention is a weighted sum of them (:func:`value`). The search tries
every convention in :func:`cnnscope.whatif.conventions.space` at the common input sizes and
batch 1 (or N) and keeps those within the figure's printed precision: ``4.1G`` is
``[4.05, 4.15) G``, ``4,089,184,256`` is exact.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from decimal import Decimal
from math import prod
from typing import Any

from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import CnnscopeError, UsageError
from cnnscope.graph import Graph
from cnnscope.layers.norm import AFFINE_OPS_PER_ELEMENT as AFFINE
from cnnscope.layers.norm import STATS_OPS_PER_ELEMENT as STATS
from cnnscope.whatif.conventions import Convention, space, tools_for

COMMON_SIZES = (224, 256, 299, 320, 384, 512)
_NUM = re.compile(r"^\s*(?P<num>[+-]?(?:\d[\d_,]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z]*)\s*$")
_PREFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_WORDS = ("FLOPS", "FLOPs", "FLOP", "flops", "MACs", "MAC", "Mac", "macs", "mac", "ops")


def parse_figure(text: str, option: str) -> tuple[Decimal, Decimal]:
    """``4.1G`` -> (4.1e9, 0.05e9): the value and half a unit of its last printed digit."""
    m = _NUM.match(text)
    unit = m.group("unit") if m else ""
    for w in _WORDS:
        if unit.endswith(w):
            unit = unit[: -len(w)]
            break
    if m is None or unit not in _PREFIX:
        raise UsageError(
            "bad-option",
            f"{option}: cannot read `{text}` as a count",
            hint=f"e.g. {option} 4.1G, {option} 1.82e9 or {option} 1,814,073,344",
        )
    num = Decimal(m.group("num").replace("_", "").replace(",", ""))
    if num <= 0:
        raise UsageError("bad-option", f"{option} must be positive, got `{text}`")
    exp = num.as_tuple().exponent
    assert isinstance(exp, int)
    scale = _PREFIX[unit]
    return num * scale, Decimal(5) * Decimal(10) ** (exp - 1) * scale


@dataclasses.dataclass(frozen=True)
class Parts:
    """The arithmetic of one forward pass, by what conventions disagree on."""

    size: tuple[int, ...]
    batch: int
    macs: int
    bias_conv: int
    bias_other: int
    bn_elems: int  # output elements of eval batch norms (stored statistics)
    bn_params: int
    norm_other: int  # other normalizations, by cnnscope's rules
    norm_fvcore: int  # the same layers by fvcore's: 5 per element with affine, 4 without
    act: int
    pool_cnnscope: int
    pool_avg_in: int
    pool_avg_out: int
    pool_all_in: int
    merge: int
    interpolate: int
    params: int
    trainable: int
    buffers: int
    int64_buffers: int


def parts(graph: Graph, batch: int = 1) -> Parts:
    shapes = infer_shapes(graph, batch)
    acc: dict[str, int] = {f.name: 0 for f in dataclasses.fields(Parts) if f.name not in ("size", "batch")}
    for node in graph.nodes:
        ins = [shapes[i] for i in node.inputs]
        out = shapes[node.name]
        layer = node.layer
        ops = layer.other_ops(ins, out)
        acc["macs"] += layer.macs(ins, out)
        windowed = layer.rf(ins).windowed
        acc["bias_conv" if windowed else "bias_other"] += ops.get("bias", 0)
        is_bn = layer.subtracts_channel_mean() and layer.linear_at_inference()
        pc = layer.params(ins) if node.shares is None else None
        if is_bn:
            acc["bn_elems"] += prod(out)
            acc["bn_params"] += pc.total if pc else 0
        elif ops.get("norm"):
            acc["norm_other"] += ops["norm"]
            per = ops["norm"] // prod(out) if ops["norm"] % prod(out) == 0 else 0
            # statistics on the fly (5) + affine (2) in cnnscope's count: fvcore's 5; statistics only: its 4
            acc["norm_fvcore"] += {STATS + AFFINE: 5, STATS: 4}.get(per, 0) * prod(out)
        acc["act"] += ops.get("activation", 0)
        if "pool" in ops:
            acc["pool_cnnscope"] += ops["pool"]
            acc["pool_all_in"] += prod(ins[0])
            if layer.linear_at_inference():  # average pooling
                acc["pool_avg_in"] += prod(ins[0])
                acc["pool_avg_out"] += prod(out)
        acc["merge"] += ops.get("merge", 0)
        acc["interpolate"] += ops.get("interpolate", 0)
        if pc is not None:
            acc["params"] += pc.total
            acc["trainable"] += pc.trainable
            acc["buffers"] += pc.buffers
            acc["int64_buffers"] += pc.int64_buffers
    return Parts(tuple(graph.input_shape[1:]), batch, **acc)


def breakdown(p: Parts, c: Convention) -> dict[str, int]:
    """The figure ``c`` gives on ``p``, by category (the total is their sum)."""
    out = {"macs": c.per_mac * p.macs}
    bias = {"none": 0, "all": p.bias_conv + p.bias_other, "conv": p.bias_conv}[c.bias]
    if c.bn == "folded" and c.bias != "none":
        bias += p.bn_elems  # the folded convolution gains a bias
    out["bias"] = bias
    bn = {"0": 0, "folded": 0, "params": p.bn_params}.get(c.bn)
    out["batchnorm"] = bn if bn is not None else int(c.bn) * p.bn_elems
    norms = p.norm_fvcore if c.norms == "fvcore" else p.norm_other
    out["other norms"] = norms if c.bn not in ("0", "folded") else 0
    out["activation"] = c.act * p.act
    out["pool"] = {
        "none": 0,
        "avg-in": p.pool_avg_in,
        "avg-in+out": p.pool_avg_in + p.pool_avg_out,
        "cnnscope": p.pool_cnnscope,
        "all-in": p.pool_all_in,
        "all-in-x2": 2 * p.pool_all_in,
    }[c.pool]
    out["interpolate"] = p.interpolate if c.pool != "none" else 0
    out["merge"] = p.merge if c.merge else 0
    return {k: v for k, v in out.items() if v}


def value(p: Parts, c: Convention) -> int:
    return sum(breakdown(p, c).values())


PARAM_CONVENTIONS = {
    "numel of every parameter": (1, 0, 0, 0),
    "trainable parameters only": (0, 1, 0, 0),
    "parameters + buffers (running statistics, not the step counters)": (1, 0, 1, 0),
    "parameters + every buffer (state_dict numel)": (1, 0, 1, 1),
}
PARAM_TOOLS = {"numel of every parameter": ["torchvision num_params", "torchinfo", "thop", "ptflops", "fvcore"]}


def param_value(p: Parts, weights: tuple[int, int, int, int]) -> int:
    a, t, b, c = weights
    return a * p.params + t * p.trainable + b * (p.buffers - p.int64_buffers) + c * p.int64_buffers


def candidate_sizes(graph: Graph) -> list[tuple[int, ...]]:
    own = tuple(graph.input_shape[1:])
    out = [own]
    if len(own) == 2:
        out += [(s, s) for s in COMMON_SIZES if (s, s) != own]
    return out


def reconcile(graph: Graph, kind: str, text: str, batch: int = 1, nearest: int = 5) -> dict[str, Any]:
    """Every (convention, size, batch) within the precision of ``text``; else the nearest."""
    option = f"--{kind}"
    target, tol = parse_figure(text, option)
    batches = sorted({1, batch})
    cands: list[dict[str, Any]] = []
    for size in candidate_sizes(graph):
        g = dataclasses.replace(graph, input_shape=(graph.input_shape[0], *size))
        for b in batches:
            try:
                p = parts(g, b)
            except CnnscopeError:
                continue  # the network is not valid at this size
            if kind == "params":
                for label, w in PARAM_CONVENTIONS.items():
                    v = param_value(p, w)
                    cands.append(_cand(v, target, size, b, label, PARAM_TOOLS.get(label, []), {"params": v}, 0))
                continue
            for conv in space(macs_only=kind == "macs"):
                bd = breakdown(p, conv)
                cands.append(
                    _cand(sum(bd.values()), target, size, b, conv.describe(), tools_for(conv), bd, conv.extras())
                )
    if not cands:
        raise UsageError("no-valid-size", f"`{graph.name}` is valid at none of the sizes tried")
    own = tuple(graph.input_shape[1:])
    for c in cands:
        c["rank"] = (c["batch"] != 1, tuple(c["size"]) != own, not c["tools"], c["extras"], c["distance"])
    matches = sorted(
        (c for c in cands if Decimal(c["value"]) - target <= tol and target - Decimal(c["value"]) <= tol),
        key=lambda c: c["rank"],
    )
    matches = _dedupe(matches)
    near = _dedupe(sorted(cands, key=lambda c: (c["distance"], c["rank"])))[:nearest]
    for c in cands:
        c.pop("rank", None)
    return {
        "model": graph.name,
        "figure": kind,
        "given": text,
        "target": int(target) if target == target.to_integral_value() else float(target),
        "tolerance": float(tol),
        "matches": matches,
        "nearest": [] if matches else near,
        "sizes_tried": [list(s) for s in candidate_sizes(graph)],
        "batches_tried": batches,
    }


def _dedupe(cands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conventions that differ only in a category this network does not have give the same
    breakdown: keep the first (simplest) of each, with every tool named by any of them."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    same_value: set[tuple[Any, ...]] = set()  # a size that changes nothing is no new answer
    for c in cands:
        key = (tuple(c["size"]), c["batch"], tuple(sorted(c["breakdown"].items())))
        first = seen.get(key)
        if first is not None:
            first["tools"] = first["tools"] + [t for t in c["tools"] if t not in first["tools"]]
            continue
        flat = (c["convention"], c["batch"], c["value"])
        if flat in same_value:
            continue
        same_value.add(flat)
        seen[key] = c
    return list(seen.values())


def _cand(
    v: int, target: Decimal, size: Sequence[int], b: int, label: str, tools: list[str], bd: dict[str, int], extras: int
) -> dict[str, Any]:
    return {
        "value": v,
        "distance": float(abs(Decimal(v) - target) / target),
        "size": list(size),
        "batch": b,
        "convention": label,
        "tools": tools,
        "breakdown": bd,
        "extras": extras,
    }
